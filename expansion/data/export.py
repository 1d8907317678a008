"""Export the synthetic dataset as H.264 files with Kinetics-style list files.

`python -m expansion.data.synthetic --out DIR [--dataset scales|blinks] [--num-train N]
[--num-val N] [--seed S]` writes
`DIR/train/*.mp4`, `DIR/val/*.mp4` and `DIR/train.csv`, `DIR/val.csv` with one
`relative/path label` line per video, readable with `ListFileSource(DIR/"train.csv", DIR)`.
A split of `--num-... 0` videos is left out.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from itertools import repeat
from pathlib import Path
from typing import NoReturn

import av

from expansion.data.synthetic import GEOMETRIES, SyntheticSpec, SyntheticVideo, open_video


def write_video(video: SyntheticVideo, path: Path, crf: int = 18, gop: int | None = None) -> None:
    """Encode every frame of `video` with libx264 (yuv420p) into `path`.

    `gop` is the keyframe interval (x264's default, 250, when `None`).
    """
    frame = video.render(0)
    options = {"crf": str(crf)} | ({"g": str(gop)} if gop else {})
    with av.open(str(path), "w") as container:
        stream = container.add_stream(
            "libx264", rate=Fraction(video.fps).limit_denominator(1001), options=options
        )
        stream.height, stream.width = frame.shape[:2]
        stream.pix_fmt = "yuv420p"
        for t in range(video.num_frames):
            image = frame if t == 0 else video.render(t)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def _export_one(spec: SyntheticSpec, out: Path, index: int) -> str:
    video = open_video(spec, index)
    relative = f"{spec.split}/{index:06d}.mp4"
    write_video(video, out / relative)
    return f"{relative} {video.label}\n"


def export_split(spec: SyntheticSpec, out: Path, jobs: int = 1) -> Path:
    """Write the videos of `spec` under `out/<split>/` and their list file `out/<split>.csv`.

    `jobs` processes encode in parallel (one x264 encode of these small frames uses one core).
    """
    (out / spec.split).mkdir(parents=True, exist_ok=True)
    indices = range(spec.num_videos)
    if jobs > 1:
        # spawn, not fork: a forked child can inherit locks held by threads of this process
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            lines = list(pool.map(_export_one, repeat(spec), repeat(out), indices, chunksize=8))
    else:
        lines = [_export_one(spec, out, index) for index in indices]
    list_file = out / f"{spec.split}.csv"
    list_file.write_text("".join(lines))
    return list_file


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m expansion.data.synthetic",
        description="Export the built-in synthetic dataset as H.264 .mp4 files and list files.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--dataset", choices=list(GEOMETRIES), default=SyntheticSpec.dataset)
    parser.add_argument("--num-train", type=int, default=SyntheticSpec.num_videos)
    parser.add_argument("--num-val", type=int, default=SyntheticSpec.num_videos // 4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel encoders")
    args = parser.parse_args(argv)
    counts = {"train": args.num_train, "val": args.num_val}
    _check_counts(parser, counts)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file in the way, no permission
        _fail(parser, f"--out {args.out}: cannot create the folder ({error.strerror})")
    for split, count in counts.items():
        if count > 0:
            spec = SyntheticSpec(args.seed, split, count, args.dataset)
            print(f"wrote {count} videos and {export_split(spec, args.out, args.jobs)}")


def _check_counts(parser: argparse.ArgumentParser, counts: dict[str, int]) -> None:
    """Video counts must not be negative; one split may be empty (it gets no list file)."""
    negative = [f"--num-{split} {count}" for split, count in counts.items() if count < 0]
    if negative:
        _fail(parser, f"{', '.join(negative)}: a number of videos cannot be negative")
    if not any(counts.values()):
        _fail(parser, "--num-train and --num-val are both 0: nothing to export")


def _fail(parser: argparse.ArgumentParser, problem: str) -> NoReturn:
    """Exit like `parser.error` (`prog: error: ...`, code 2), in one line, without the usage."""
    parser.exit(2, f"{parser.prog}: error: {problem}\n")
