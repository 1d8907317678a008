"""Which missing weights a resumed search trains again, and in what order."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from expansion.errors import SearchError
from expansion.search.records import TrialOutcome, TrialRecord, TrialSpec
from expansion.search.restore import missing_sources, verdict
from expansion.training.trial_weights import weights_path


def _record(trial_id: str, inherit_from: str = "", resume_from: str = "") -> TrialRecord:
    spec = TrialSpec(
        trial_id, 1, "forward", "depth", "", None, 0.1, 1.0, inherit_from, 1.0, resume_from
    )
    return TrialRecord("run", 0, spec, TrialOutcome("ok", top1=0.5))


def test_missing_weights_are_retrained_after_those_they_start_from(tmp_path: Path) -> None:
    # seed <- a (inherits) <- a's rung 2 (resumes) <- b (inherits), and c trained from scratch
    seed, a = _record("seed"), _record("a", inherit_from="seed")
    rung, c = _record("a-r2", resume_from="a"), _record("c")
    records = [seed, a, rung, c]
    wanted = [_record("b", inherit_from="a-r2"), _record("d", inherit_from="c")]
    torch.save({}, weights_path(tmp_path, "c"))  # c's weights are there
    found = missing_sources([record.spec for record in wanted], records, tmp_path)
    assert [record.trial_id for record in found] == ["seed", "a", "a-r2"]
    torch.save({}, weights_path(tmp_path, "a"))  # the chain stops at weights that are there
    found = missing_sources([record.spec for record in wanted], records, tmp_path)
    assert [record.trial_id for record in found] == ["a-r2"]


def test_weights_of_a_trial_not_recorded_are_a_one_line_error(tmp_path: Path) -> None:
    failed = TrialRecord("run", 0, _record("a").spec, TrialOutcome("failed", error="crash"))
    for records in ([], [failed]):
        with pytest.raises(SearchError, match=r"b starts from a's weights: .* is missing"):
            missing_sources([_record("b", inherit_from="a").spec], records, tmp_path)


def test_a_retrained_trial_is_as_recorded_only_if_it_calls_the_same_videos() -> None:
    recorded = TrialOutcome("ok", top1=0.5, correct="1100")
    assert verdict(TrialOutcome("ok", top1=0.5, correct="1100"), recorded) == "as recorded"
    # the same top-1 from another model: two videos called otherwise
    assert verdict(TrialOutcome("ok", top1=0.5, correct="0110"), recorded).startswith(
        "2 of 4 videos called otherwise: the trials after it may part"
    )
    assert verdict(TrialOutcome("ok", top1=0.75, correct="1110"), recorded).startswith(
        "recorded 50.0%: the trials after it may part"
    )
    # runs recorded before `correct` existed are checked by top-1 alone
    assert verdict(TrialOutcome("ok", top1=0.5, correct="0110"), replace(recorded, correct="")) == (
        "as recorded"
    )
