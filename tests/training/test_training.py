"""Training core and search trials: schedule, optimiser groups, evaluation, trials end to end."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from expansion.data import DataConfig, SyntheticSpec
from expansion.errors import ConfigError
from expansion.search.records import TrialSpec
from expansion.training import CosineSchedule, Schedule, evaluate, param_groups, scaled_lr
from expansion.training import loop as loop_module
from expansion.training.resources import Resources, trial_settings
from expansion.training.trial import TrialJob, run_trial
from search_spaces import get_space
from search_spaces.x3d import X3DConfig

CONF = Path(__file__).resolve().parents[2] / "conf" / "trial"
# X2D-sized, small crop: a trial of a few clips takes about a second.
TINY = X3DConfig(
    frames=2, stride=16, crop=48, width_factor=1.0, bottleneck_factor=1.0, depth_factor=1.0
)


def load_settings(name: str) -> tuple[Schedule, Resources]:
    return trial_settings(yaml.safe_load((CONF / f"{name}.yaml").read_text()))


def tiny_job(seed: int = 0, **changes: object) -> TrialJob:
    smoke, resources = load_settings("smoke")
    schedule = replace(smoke, **({"epochs": 2, "batch_size": 4} | changes))
    video = {"height": 64, "width": 80, "num_frames": 24, "clutter": 1}
    data = DataConfig(
        train=SyntheticSpec(split="train", num_videos=12, **video),
        val=SyntheticSpec(split="val", num_videos=6, **video),
        num_classes=12,
    )
    return TrialJob(get_space("x3d"), data, seed, schedule, resources)


SPEC = TrialSpec("t0", 0, "forward", "seed", "", TINY, 0.001, 0.1)


# --- schedule ---------------------------------------------------------------------------------


def test_schedule_matches_hand_computed_values() -> None:
    schedule = CosineSchedule(peak_lr=1.0, total_epochs=10, warmup_epochs=2, start_lr=0.1)
    end_of_warmup = (1 + math.cos(math.pi * 0.2)) / 2  # 0.904508...
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(1) == pytest.approx(0.1 + (end_of_warmup - 0.1) / 2)
    assert schedule(2) == pytest.approx(end_of_warmup)
    assert schedule(5) == pytest.approx(0.5)
    assert schedule(7.5) == pytest.approx((1 + math.cos(0.75 * math.pi)) / 2)  # 0.146447
    assert schedule(10) == pytest.approx(0.0, abs=1e-12)


def test_schedule_without_warmup_starts_at_peak() -> None:
    assert CosineSchedule(peak_lr=0.4, total_epochs=3)(0) == pytest.approx(0.4)


def test_rates_scale_linearly_with_batch() -> None:
    assert scaled_lr(0.1, 256) == pytest.approx(0.2)
    settings, _ = load_settings("paper")
    schedule = settings.learning_rate()
    assert schedule.peak_lr == pytest.approx(0.1 * settings.batch_size / 128)
    assert schedule.start_lr == pytest.approx(0.01 * settings.batch_size / 128)


# --- optimiser --------------------------------------------------------------------------------


def test_weight_decay_only_on_conv_and_linear_weights() -> None:
    model = get_space("x3d").build(TINY, 12)
    decayed, free = param_groups(model, 5e-5)
    assert decayed["weight_decay"] == 5e-5 and free["weight_decay"] == 0.0
    norm_params = {
        id(p) for m in model.modules() if isinstance(m, nn.BatchNorm3d) for p in m.parameters()
    }
    decayed_ids = {id(p) for p in decayed["params"]}  # type: ignore[union-attr]
    assert norm_params and not norm_params & decayed_ids
    assert all(p.dim() > 1 for p in decayed["params"])  # type: ignore[union-attr]
    assert len(decayed_ids) + len(free["params"]) == len(list(model.parameters()))  # type: ignore[arg-type]


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["smoke", "short", "paper"])
def test_trial_schedules_load(name: str) -> None:
    settings, _ = load_settings(name)
    assert settings.views.count >= 1


def test_gpus_default_to_one_when_cuda_is_visible() -> None:
    values = yaml.safe_load((CONF / "short.yaml").read_text())
    assert values["gpus"] is None
    expected = 1.0 if torch.cuda.is_available() else 0.0
    assert trial_settings(values)[1].gpus == expected
    assert trial_settings(values | {"gpus": 0.5})[1].gpus == 0.5


def test_unknown_settings_are_named() -> None:
    values = yaml.safe_load((CONF / "smoke.yaml").read_text()) | {"lr": 1, "epochz": 2}
    with pytest.raises(ConfigError, match=r"unknown trial settings: epochz, lr$"):
        trial_settings(values)


def test_a_cuda_block_replaces_values_only_for_trials_on_cuda() -> None:
    short, _ = load_settings("short")
    assert short.for_device("cpu") is short
    on_gpu = short.for_device("cuda")
    assert (on_gpu.epochs, on_gpu.batch_size, on_gpu.num_workers) == (12, 32, 4)
    assert (on_gpu.base_lr, on_gpu.test_views, on_gpu.cuda) == (short.base_lr, "1x1", None)


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"epoch": 3}, r"unknown cuda settings: epoch$"),
        ({"epochs": "many"}, r"cuda.epochs: expected a whole number, got 'many'$"),
        ({"epochs": 0}, r"epochs and batch_size must be positive"),
        ({"cuda": {"epochs": 2}}, r"cuda: a cuda block cannot hold another one$"),
    ],
)
def test_a_bad_cuda_block_is_refused_when_the_schedule_is_read(
    block: dict[str, object], problem: str
) -> None:
    values = yaml.safe_load((CONF / "short.yaml").read_text()) | {"cuda": block}
    with pytest.raises(ConfigError, match=problem):
        trial_settings(values)


def test_an_inheriting_trial_trains_the_schedules_inherited_epochs() -> None:
    short, _ = load_settings("short")
    assert (short.epochs, short.inherited_epochs) == (4, 2)
    inheriting = short.for_inheriting()
    assert (inheriting.epochs, inheriting.warmup_epochs, inheriting.base_lr) == (2, 0.5, 1.6)
    assert replace(short, warmup_epochs=3.0).for_inheriting().warmup_epochs == 2
    assert replace(short, inherited_epochs=None).for_inheriting().epochs == 4
    with pytest.raises(ConfigError, match="inherited_epochs must be positive, got 0"):
        replace(short, inherited_epochs=0)


def test_paper_schedule_is_the_final_recipe_doubled_and_halved() -> None:
    paper, _ = load_settings("paper")
    assert (paper.epochs, paper.warmup_epochs, paper.batch_size) == (150, 17.5, 256)
    assert (paper.micro_batch_size, paper.test_views) == (16, "10x1")


# --- evaluation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    video: int


class ScoreViews(torch.utils.data.Dataset):
    """Views whose clip is the logits a flattening model returns: scores known in advance."""

    def __init__(self, logits: torch.Tensor, labels: list[int], views: int) -> None:
        self.logits, self.labels, self.views = logits, labels, views
        self.num_videos = len(labels)

    def __len__(self) -> int:
        return len(self.logits)

    def view_of(self, index: int) -> Where:
        return Where(index // self.views)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        video = index // self.views
        return self.logits[index].reshape(-1, 1, 1, 1), self.labels[video], video


def test_evaluation_averages_softmax_over_each_videos_views() -> None:
    generator = torch.Generator().manual_seed(3)
    videos, views, classes = 7, 3, 6
    logits = torch.randn(videos * views, classes, generator=generator) * 3
    labels = [0, 1, 2, 3, 4, 5, 0]
    result = evaluate(nn.Flatten(), ScoreViews(logits, labels, views), torch.device("cpu"), 4)

    expected = logits.double().softmax(1).reshape(videos, views, classes).mean(1)
    target = torch.tensor(labels)
    assert torch.allclose(result.scores, expected, atol=1e-6)
    assert result.top1 == pytest.approx((expected.argmax(1) == target).double().mean().item())
    top5 = (expected.topk(5, 1).indices == target[:, None]).any(1).double().mean().item()
    assert result.top5 == pytest.approx(top5)
    losses = nn.functional.cross_entropy(logits, target.repeat_interleave(views))
    assert result.loss == pytest.approx(losses.item(), rel=1e-5)


# --- trials -----------------------------------------------------------------------------------


def test_smoke_trial_end_to_end() -> None:
    reports: list[dict[str, object]] = []
    outcome = run_trial(SPEC, tiny_job(), reports.append)
    assert outcome.status == "ok", outcome.error
    assert 0 <= outcome.top1 <= outcome.top5 <= 1 and math.isfinite(outcome.loss)
    assert outcome.epochs == 2 and len(outcome.epoch_top1) == 2
    assert outcome.clips_per_s > 0 and outcome.wall_s > 0 and outcome.peak_memory_mb > 0
    # its core-seconds: no more than its threads (and a spare for PyAV's) can fill
    assert 0 < outcome.cpu_s <= outcome.wall_s * (outcome.threads + 1)
    assert outcome.device.startswith("cpu")
    # which validation videos it got right, and top-1's bootstrap interval over them
    assert len(outcome.correct) == 6 and outcome.correct.count("1") / 6 == outcome.top1
    assert outcome.top1_low <= outcome.top1 <= outcome.top1_high
    assert [r["epoch"] for r in reports] == [1, 2]
    assert all({"top1", "loss"} <= r.keys() for r in reports)
    assert reports[-1]["top1"] == outcome.top1


def test_validating_only_the_last_epoch_reports_once_and_trains_alike() -> None:
    reports: list[dict[str, object]] = []
    last_only = run_trial(SPEC, tiny_job(validate_every_epoch=False), reports.append)
    every = run_trial(SPEC, tiny_job())
    assert [r["epoch"] for r in reports] == [2] and reports[0]["epochs"] == 2
    assert last_only.epochs == 2 and last_only.epoch_top1 == (every.top1,)
    # the same training; the validation passes in between change float rounding, nothing else
    assert last_only.top1 == every.top1 and last_only.loss == pytest.approx(every.loss, rel=1e-3)


def test_a_rung_goes_on_from_its_checkpoint_as_if_it_had_never_stopped(tmp_path: Path) -> None:
    job = replace(tiny_job(dropout=0.0), weights_dir=tmp_path)
    first = run_trial(replace(SPEC, trial_id="t0-r0", budget=0.5), job)
    assert first.epochs == 1 and (tmp_path / "t0-r0.pt").exists()
    rest = run_trial(replace(SPEC, resume_from="t0-r0"), job)
    whole = run_trial(SPEC, tiny_job(dropout=0.0))
    assert rest.epochs == whole.epochs == 2
    assert rest.top1 == whole.top1 and rest.loss == pytest.approx(whole.loss, rel=1e-4)
    missing = replace(SPEC, trial_id="t1", resume_from="nothing")
    with pytest.raises(FileNotFoundError, match="t1 starts from nothing's weights: no "):
        run_trial(missing, job)


def test_trial_restores_threads_and_determinism() -> None:
    threads = torch.get_num_threads()
    run_trial(SPEC, tiny_job(epochs=1))
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


def test_same_seed_gives_the_same_outcome() -> None:
    first, second = (run_trial(SPEC, tiny_job(seed=5)) for _ in range(2))
    metrics = ("status", "top1", "top5", "loss", "epochs", "epoch_top1")
    assert [getattr(first, m) for m in metrics] == [getattr(second, m) for m in metrics]


def test_loader_workers_do_not_change_the_outcome() -> None:
    inline, workers = (run_trial(SPEC, tiny_job(epochs=1, num_workers=n)) for n in (0, 2))
    assert (inline.top1, inline.loss) == (workers.top1, workers.loss)


def test_micro_batches_accumulate_to_one_step() -> None:
    outcome = run_trial(SPEC, tiny_job(epochs=1, micro_batch_size=2))
    assert outcome.status == "ok" and outcome.epochs == 1


def test_diverging_loss_is_a_failed_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    real = loop_module.functional.cross_entropy
    calls = iter(range(1000))

    def nan_on_third_batch(logits: torch.Tensor, labels: torch.Tensor, **kw: object) -> object:
        loss = real(logits, labels, **kw)
        return loss * math.nan if next(calls) == 2 and logits.requires_grad else loss

    monkeypatch.setattr(loop_module.functional, "cross_entropy", nan_on_third_batch)
    reports: list[dict[str, object]] = []
    outcome = run_trial(SPEC, tiny_job(), reports.append)
    # 12 videos in batches of 4: three steps in epoch 1, the third one is NaN.
    assert outcome.status == "failed"
    assert outcome.error == "loss became NaN at epoch 1 step 3"
    assert outcome.epochs == 0 and reports == []


def test_huge_learning_rate_fails_instead_of_raising() -> None:
    outcome = run_trial(SPEC, tiny_job(base_lr=1e12, warmup_epochs=0.0))
    assert outcome.status == "failed"
    assert outcome.error.startswith("loss became ")


def test_too_few_videos_for_a_batch_raise() -> None:
    with pytest.raises(ConfigError, match="fewer than one batch"):
        run_trial(SPEC, tiny_job(batch_size=64))
