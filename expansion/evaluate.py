"""`python -m expansion.evaluate checkpoint=PATH views=10x3 out=scores.csv`: test a model.

Loads a checkpoint (the project's, or another codebase's the family knows: for X3D pytorchvideo's,
SlowFast's and mmaction2's) into the architecture `arch`: a preset name of `space`, a
`final.yaml`, or `auto` (the default), the checkpoint's own, which the project's checkpoints
record and the family reads from other checkpoints' tensor shapes and stored settings. Runs every
view of every validation video, prints top-1, top-5 and mean class accuracy of the view-averaged
softmax scores, and, when the classes have names (`data.label_map`), the accuracy of each class;
writes per-video scores, predictions and labels (with their names) to `out` (`.csv` or `.json`),
with `per_view=true` also every view's scores. `evaluate_checkpoint` is what tests call.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import torch
from tqdm import tqdm

from expansion.cli import hydra_command
from expansion.config_values import absolute_path, as_int, optional_float
from expansion.data import ClipDataset, DataConfig, TestViews
from expansion.errors import ConfigError
from expansion.results.architecture import AUTO_ARCH, resolve_architecture
from expansion.results.checkpoints import load_checkpoint
from expansion.results.run_table import space_name
from expansion.training import runtime
from expansion.training.loop import Batch, Evaluation, evaluate
from search_spaces import SearchSpace, get_space

OUT_SUFFIXES = (".csv", ".json")


@dataclass(frozen=True)
class EvaluationSettings:
    """What `evaluate` is asked: which weights, on which data and views, where the scores go."""

    space: SearchSpace
    architecture: Any | None  # None: the checkpoint's own (arch=auto)
    checkpoint: Path
    data: DataConfig
    views: TestViews
    out: Path | None
    per_view: bool
    batch_size: int
    num_workers: int
    gpus: float | None

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> EvaluationSettings:
        """Typed settings from the composed `conf/evaluate.yaml`; bad values: a `ConfigError`."""
        if not config.get("checkpoint"):
            raise ConfigError("checkpoint=PATH is required (untrained weights score chance)")
        out = absolute_path(config["out"]) if config.get("out") else None
        if out is not None:
            _check_writable(out)
        space, architecture = get_space(space_name(config.get("space"))), None
        if config.get("arch") and str(config["arch"]) != AUTO_ARCH:
            space, architecture = resolve_architecture(str(config["arch"]), space)
        return cls(
            space=space,
            architecture=architecture,
            checkpoint=absolute_path(config["checkpoint"]),
            data=DataConfig.from_mapping(config["data"]),
            views=TestViews.parse(str(config["views"])),
            out=out,
            per_view=bool(config.get("per_view")),
            batch_size=as_int(config["batch_size"], "batch_size"),
            num_workers=as_int(config["num_workers"], "num_workers"),
            gpus=optional_float(config.get("gpus"), "gpus"),
        )


def _check_writable(out: Path) -> None:
    """Refuse an `out=` that could not be written before evaluating, not after."""
    if out.suffix not in OUT_SUFFIXES:
        raise ConfigError(f"out={out}: the file must end in {' or '.join(OUT_SUFFIXES)}")
    if out.is_dir():
        raise ConfigError(f"out={out} is a folder, not a file")
    folder = next(parent for parent in out.parents if parent.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"out={out}: {folder} is not a writable folder")
    if out.exists() and not os.access(out, os.W_OK):
        raise ConfigError(f"out={out}: the file is not writable")


def evaluate_checkpoint(config: Mapping[str, Any], stream: TextIO = sys.stdout) -> Evaluation:
    """Evaluate `config["checkpoint"]` on the validation split; print and write the results."""
    settings = EvaluationSettings.from_mapping(config)
    loaded = load_checkpoint(
        settings.checkpoint, settings.space, settings.architecture, settings.data.num_classes
    )
    view = settings.space.input_view(loaded.config)
    print(
        f"{settings.space.label(loaded.config)}: {view.frames} frames × stride {view.stride:g}, "
        f"crop {view.crop}",
        file=stream,
    )
    dataset = settings.data.dataset("val", view, "val", test_views=settings.views)
    device = runtime.pick_device(settings.gpus)
    model = runtime.prepare_model(loaded.model, device)

    def progress(batches: Iterable[Batch]) -> Iterable[Batch]:
        return tqdm(batches, desc="evaluating", unit="batch", disable=None, file=sys.stderr)

    result = evaluate(
        model,
        dataset,
        device,
        settings.batch_size,
        settings.num_workers,
        progress=progress,
        keep_views=settings.per_view,
    )
    print(
        f"top-1 {100 * result.top1:.2f}%  top-5 {100 * result.top5:.2f}%  "
        f"mean class accuracy {100 * result.mean_class_accuracy:.2f}%  "
        f"({dataset.num_videos} videos × {settings.views.count} views, {loaded.source} "
        f"checkpoint, {runtime.device_name(device)})",
        file=stream,
    )
    names = settings.data.class_names
    if names is not None:
        print("\n".join(format_class_table(class_table(result, names))), file=stream)
    if settings.out is not None:
        write_scores(settings.out, result, dataset, names)
    return result


def _score_columns(scores: torch.Tensor) -> dict[str, list[float]]:
    return {f"score_{c}": scores[:, c].tolist() for c in range(scores.shape[1])}


def class_table(result: Evaluation, names: Sequence[str]) -> pd.DataFrame:
    """One row per class that occurs: its label, name, number of videos and top-1 accuracy."""
    accuracy = result.class_accuracy()
    counts = torch.bincount(result.labels, minlength=len(names)).tolist()
    return pd.DataFrame(
        {
            "class": list(accuracy),
            "name": [names[label] for label in accuracy],
            "videos": [counts[label] for label in accuracy],
            "top1": list(accuracy.values()),
        }
    )


def format_class_table(table: pd.DataFrame) -> list[str]:
    """`class_table` as aligned lines: label, name, videos, top-1 in percent."""
    width = max(len("name"), *(len(name) for name in table["name"]))
    lines = [f"{'class':>5}  {'name':<{width}}  {'videos':>6}  {'top-1':>7}"]
    for label, name, videos, top1 in zip(*(table[c] for c in table.columns), strict=True):
        lines.append(f"{label:>5}  {name:<{width}}  {videos:>6}  {100 * top1:>6.2f}%")
    return lines


def video_table(
    result: Evaluation, dataset: ClipDataset, class_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per video: index, name, label, prediction (and, given `class_names`, theirs),
    view-averaged score per class."""
    videos = range(dataset.num_videos)
    labels, predictions = result.labels.tolist(), result.scores.argmax(dim=1).tolist()
    columns: dict[str, list[Any]] = {
        "video": list(videos),
        "name": [dataset.videos.name(v) for v in videos],
    }
    for column, values in (("label", labels), ("prediction", predictions)):
        columns[column] = values
        if class_names is not None:
            columns[f"{column}_name"] = [class_names[label] for label in values]
    return pd.DataFrame(columns | _score_columns(result.scores))


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


def write_scores(
    out: Path,
    result: Evaluation,
    dataset: ClipDataset,
    class_names: Sequence[str] | None = None,
) -> None:
    """Per-video rows to `out`; per-view rows (if kept) to `<out>.views.csv` or under "views";
    given `class_names`, the JSON also holds the per-class table under "classes"."""
    out.parent.mkdir(parents=True, exist_ok=True)
    videos = video_table(result, dataset, class_names)
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
    if class_names is not None:
        document["classes"] = class_table(result, class_names).to_dict(orient="records")
    if views is not None:
        document["views"] = views.to_dict(orient="records")
    out.write_text(json.dumps(document))


main = hydra_command(
    "expansion.evaluate", "evaluate", lambda settings, _: evaluate_checkpoint(settings)
)

if __name__ == "__main__":
    main()
