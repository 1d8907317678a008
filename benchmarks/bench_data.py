"""Throughput of the video data pipeline on this machine (a script, not a test).

Prints loader clips/s for 16×5×224 training clips from 10-s 340×256 H.264 videos (seeking against
decoding from the start, with x264's default keyframe interval of 250 frames and with one every
30 frames, for 0 and 2 workers), the same for X3D-XS clips (4×12×160), for the synthetic dataset,
and the time to export synthetic videos (extrapolated to 1,000 from a smaller export).

    .venv/bin/python benchmarks/bench_data.py [--clips N] [--export N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from torch.utils.data import DataLoader

from expansion.data import SyntheticSpec, build_dataset
from expansion.data.catalog import VideoEntry, VideoFiles
from expansion.data.datasets import ClipDataset
from expansion.data.export import export_split, write_video
from expansion.data.synthetic import open_video
from search_spaces.base import InputView

WINDOW = InputView(16, 5, 224)
XS = InputView(4, 12, 160)


def clips_per_second(dataset: ClipDataset, clips: int, workers: int) -> float:
    loader = DataLoader(
        dataset, batch_size=4, num_workers=workers, shuffle=True, timeout=120 * (workers > 0)
    )
    iterator = iter(loader)
    next(iterator)  # exclude worker start-up
    start, seen = time.perf_counter(), 0
    while seen < clips:
        try:
            seen += len(next(iterator)[1])
        except StopIteration:
            iterator = iter(loader)
    return seen / (time.perf_counter() - start)


def write_videos(folder: Path, count: int, gop: int | None) -> list[VideoEntry]:
    folder.mkdir(parents=True)
    spec = SyntheticSpec(dataset="blinks", num_frames=300, num_videos=count)
    entries = []
    for index in range(count):
        path = folder / f"{index}.mp4"
        write_video(open_video(spec, index), path, gop=gop)
        entries.append(VideoEntry(str(path), index % 12))
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64, help="clips timed per figure")
    parser.add_argument("--export", type=int, default=40, help="videos exported to time export")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for gop in (None, 30):
            entries = write_videos(Path(tmp) / f"gop{gop}", 8, gop)
            label = f"GOP {gop or '250 (x264 default)'}"
            for view in (WINDOW, XS):
                for seek in (True, False):
                    videos = VideoFiles(entries * 4, 12, seek=seek)  # 32 items per epoch
                    dataset = ClipDataset(videos, view)
                    for workers in (0, 2):
                        rate = clips_per_second(dataset, args.clips, workers)
                        print(
                            f"files {label:<22} {view.frames}x{view.stride:g}x{view.crop:<4} "
                            f"{'seek ' if seek else 'start'} workers={workers}: {rate:6.1f} clips/s"
                        )
        spec = SyntheticSpec(dataset="blinks", num_videos=96)
        for view in (WINDOW, XS):
            for workers in (0, 2):
                rate = clips_per_second(build_dataset(spec, view), args.clips, workers)
                print(
                    f"synthetic {view.frames}x{view.stride:g}x{view.crop:<4} "
                    f"workers={workers}: {rate:6.1f} clips/s"
                )
        start = time.perf_counter()
        export_split(replace(spec, num_videos=args.export), Path(tmp) / "export", jobs=2)
        seconds = (time.perf_counter() - start) / args.export
        print(
            f"export: {seconds:.2f} s/video with 2 jobs ({args.export} videos of 120 frames "
            f"340x256), so ~{seconds * 1000 / 60:.0f} min for 1,000 (extrapolated)"
        )


if __name__ == "__main__":
    main()
