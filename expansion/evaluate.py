"""`python -m expansion.evaluate arch=XS checkpoint=PATH views=10x3 out=scores.csv`: test a model.

Loads a checkpoint (the project's, pytorchvideo's or SlowFast's) into the architecture `arch`
(a preset name or a `final.yaml`; the project's checkpoints record theirs), runs every view of
every validation video, prints top-1, top-5 and mean class accuracy of the view-averaged softmax
scores, and writes per-video scores, predictions and labels to `out` (`.csv` or `.json`), with
`per_view=true` also every view's scores. `evaluate_checkpoint` is what tests call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import hydra
import pandas as pd
import torch
from omegaconf import DictConfig
from tqdm import tqdm

from expansion.architecture import resolve_architecture
from expansion.checkpoints import load_checkpoint
from expansion.cli import call_with_config
from expansion.data import ClipDataset, TestViews, build_dataset
from expansion.settings import data_sources
from expansion.training import runtime
from expansion.training.loop import Batch, Evaluation, evaluate
from search_spaces.x3d import X3D_SPACE

OUT_SUFFIXES = (".csv", ".json")


def pick_device(gpus: float | None) -> torch.device:
    """`gpus=None`: CUDA when present, else the CPU; otherwise as `runtime.pick_device`."""
    return runtime.pick_device(float(torch.cuda.is_available()) if gpus is None else gpus)


def evaluate_checkpoint(config: Mapping[str, Any], stream: TextIO = sys.stdout) -> Evaluation:
    """Evaluate `config["checkpoint"]` on the validation split; print and write the results."""
    path = config.get("checkpoint")
    if not path:
        raise ValueError("checkpoint=PATH is required (untrained weights score chance)")
    out = Path(config["out"]) if config.get("out") else None
    if out is not None and out.suffix not in OUT_SUFFIXES:
        raise ValueError(f"out={out}: the file must end in {' or '.join(OUT_SUFFIXES)}")
    architecture = None
    if config.get("arch"):
        space, architecture = resolve_architecture(str(config["arch"]))
        if space.name != X3D_SPACE.name:
            raise ValueError(f"arch={config['arch']}: only X3D checkpoints can be evaluated")
    views = TestViews.parse(str(config["views"]))
    data = config["data"]
    _, source, num_classes = data_sources(data)
    loaded = load_checkpoint(path, architecture, num_classes)
    dataset = build_dataset(
        source,
        X3D_SPACE.input_view(loaded.config),
        "val",
        test_views=views,
        fps=data.get("fps"),
        max_bad_share=float(data.get("max_bad_share", 0.05)),
    )
    device = pick_device(config.get("gpus"))
    model = runtime.prepare_model(loaded.model, device)

    def progress(batches: Iterable[Batch]) -> Iterable[Batch]:
        return tqdm(batches, desc="evaluating", unit="batch", disable=None, file=sys.stderr)

    per_view = bool(config.get("per_view"))
    result = evaluate(
        model,
        dataset,
        device,
        int(config["batch_size"]),
        int(config["num_workers"]),
        progress=progress,
        keep_views=per_view,
    )
    print(
        f"top-1 {100 * result.top1:.2f}%  top-5 {100 * result.top5:.2f}%  "
        f"mean class accuracy {100 * result.mean_class_accuracy:.2f}%  "
        f"({dataset.num_videos} videos × {views.count} views, {loaded.source} checkpoint, "
        f"{runtime.describe(device)})",
        file=stream,
    )
    if out is not None:
        write_scores(out, result, dataset)
    return result


def _score_columns(scores: torch.Tensor) -> dict[str, list[float]]:
    return {f"score_{c}": scores[:, c].tolist() for c in range(scores.shape[1])}


def video_table(result: Evaluation, dataset: ClipDataset) -> pd.DataFrame:
    """One row per video: index, name, label, prediction, view-averaged score per class."""
    videos = range(dataset.num_videos)
    return pd.DataFrame(
        {
            "video": list(videos),
            "name": [dataset.videos.name(v) for v in videos],
            "label": result.labels.tolist(),
            "prediction": result.scores.argmax(dim=1).tolist(),
        }
        | _score_columns(result.scores)
    )


def view_table(scores: torch.Tensor, dataset: ClipDataset) -> pd.DataFrame:
    """One row per view: its video, temporal clip and spatial crop, softmax score per class."""
    where = [dataset.view_of(i) for i in range(len(dataset))]
    return pd.DataFrame(
        {
            "video": [w.video for w in where],
            "clip": [w.clip for w in where],
            "crop": [w.crop for w in where],
        }
        | _score_columns(scores)
    )


def write_scores(out: Path, result: Evaluation, dataset: ClipDataset) -> None:
    """Per-video rows to `out`; per-view rows (if kept) to `<out>.views.csv` or under "views"."""
    out.parent.mkdir(parents=True, exist_ok=True)
    videos = video_table(result, dataset)
    views = None if result.view_scores is None else view_table(result.view_scores, dataset)
    if out.suffix == ".csv":
        videos.to_csv(out, index=False)
        if views is not None:
            views.to_csv(out.with_suffix(".views.csv"), index=False)
        return
    document: dict[str, Any] = {
        "top1": result.top1,
        "top5": result.top5,
        "mean_class_accuracy": result.mean_class_accuracy,
        "loss": result.loss,
        "videos": videos.to_dict(orient="records"),
    }
    if views is not None:
        document["views"] = views.to_dict(orient="records")
    out.write_text(json.dumps(document))


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(config: DictConfig) -> None:
    call_with_config("expansion.evaluate", config, evaluate_checkpoint)


if __name__ == "__main__":
    main()
