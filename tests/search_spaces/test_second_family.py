"""A second network family, defined and registered here in a few lines, works with every entry
point (describe, a search, evaluate) without a change to `expansion/`."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
import yaml
from hydra_configs import compose_config
from torch import nn

import search_spaces
from expansion.data import DataConfig
from expansion.describe import main as describe
from expansion.errors import ConfigError
from expansion.evaluate import evaluate_checkpoint
from expansion.results.checkpoints import save_checkpoint
from expansion.search.driver import run_search
from search_spaces import Axis, InputView, SearchSpace


@dataclass(frozen=True)
class PlainConfig:
    frames: int
    crop: int
    width: int


class Plain3D(nn.Module):
    """conv (3×3×3, stride 2 in space) → BN → ReLU → global pool → dropout → linear."""

    def __init__(self, config: PlainConfig, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, config.width, 3, stride=(1, 2, 2), padding=1, bias=False)
        self.bn = nn.BatchNorm3d(config.width)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(config.width, num_classes)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.bn(self.conv(clips))).mean(dim=(2, 3, 4))
        return self.fc(self.dropout(features))


def _scale(field: str) -> Callable[[PlainConfig, float], PlainConfig]:
    return lambda config, f: replace(config, **{field: max(1, round(getattr(config, field) * f))})


class PlainSpace(SearchSpace):
    name, title = "plain3d", "Plain3D"
    seed = PlainConfig(frames=2, crop=32, width=8)
    presets: ClassVar = {"P0": seed}
    classifier = "fc.weight"
    axes: ClassVar = {
        "spatial": Axis("spatial", "γs", 1.5, "crop × f", _scale("crop")),
        "width": Axis("width", "γw", 2.0, "width × f", _scale("width")),
    }

    def build(self, config: PlainConfig, num_classes: int, dropout: float = 0.0) -> nn.Module:
        return Plain3D(config, num_classes, dropout)

    def structure(self, config: PlainConfig) -> tuple[int, ...]:
        return (config.frames, config.crop, config.width)

    def input_view(self, config: PlainConfig) -> InputView:
        return InputView(frames=config.frames, stride=8, crop=config.crop)

    def to_dict(self, config: PlainConfig) -> dict[str, Any]:
        return asdict(config)

    def from_dict(self, values: Mapping[str, Any]) -> PlainConfig:
        try:
            return PlainConfig(**values)
        except TypeError as error:
            raise ConfigError(f"Plain3D config: {error}") from None


PLAIN = PlainSpace()
DATA = ["data=blinks", "data.num_train=24", "data.num_val=12"]


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    search_spaces.register(PLAIN)
    yield
    del search_spaces.SPACES[PLAIN.name]


def describe_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert describe(["--space", PLAIN.name, *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_describe_counts_the_family_and_its_candidates(capsys: pytest.CaptureFixture[str]) -> None:
    report = describe_json(capsys, "P0", "--candidates")
    # conv: 8 channels × 27 × 3 inputs at 2 × 16 × 16 outputs; linear 8 × 400.
    assert report["gflops"] == pytest.approx((8 * 27 * 3 * 2 * 16 * 16 + 8 * 400) / 1e9)
    assert report["params_m"] == pytest.approx((8 * 27 * 3 + 8 * 400 + 400) / 1e6)
    assert [c["axis"] for c in report["candidates"]] == ["spatial", "width"]
    assert report["candidates"][1]["config"] == {"frames": 2, "crop": 32, "width": 16}
    assert describe_json(capsys, "--frames", "2", "--crop", "64", "--width", "8")["crop"] == 64


def test_a_smoke_search_and_evaluate_run_on_the_family(tmp_path: Path) -> None:
    config = compose_config(
        "config", f"space={PLAIN.name}", "trial=smoke", "dispatcher=inline", *DATA,
        "target_gflops=0.0005", "axes=[spatial,width]", "inherit=true",
    )  # fmt: skip
    console = io.StringIO()
    result = run_search(config, tmp_path / "run", stream=console)
    final = yaml.safe_load((tmp_path / "run" / "final.yaml").read_text())
    assert final["space"] == PLAIN.name and result.final.spec.gflops <= 0.0005
    assert result.path[0].spec.axis == "seed"
    assert len(result.path) >= 2 and result.final.outcome.status == "ok"
    # inherit=true, but this family cannot transfer weights: from scratch, and said so
    assert not any(record.spec.inherit_from for record in result.path)
    assert f"the {PLAIN.title} family cannot transfer weights" in console.getvalue()

    # evaluate a checkpoint of the family against an independent pass over the same clips
    torch.manual_seed(0)
    model = PLAIN.build(PLAIN.seed, 6).eval()
    save_checkpoint(tmp_path / "plain.pt", PLAIN, model, PLAIN.seed)
    settings = compose_config(
        "evaluate", f"space={PLAIN.name}", f"checkpoint={tmp_path / 'plain.pt'}", *DATA,
        "views=1x1", "num_workers=0", "batch_size=4", "gpus=0",
    )  # fmt: skip
    evaluation = evaluate_checkpoint(settings, io.StringIO())
    data = DataConfig.from_mapping(settings["data"])
    clips = data.dataset("val", PLAIN.input_view(PLAIN.seed), "val")
    with torch.no_grad():
        predicted = [model(clip[None]).argmax().item() for clip, _, _ in clips]
    expected = sum(p == label for p, (_, label, _) in zip(predicted, clips, strict=True))
    assert evaluation.top1 == pytest.approx(expected / len(clips))
    assert assert_describe_reads(tmp_path / "run" / "final.yaml")


def assert_describe_reads(path: Path) -> bool:
    return describe(["--config", str(path)]) == 0
