"""What a search is bound to train and derive, known before anything is trained.

A replayed step keeps its axis whatever its candidates score, and a contraction along the last
axis (`contract="last"`) has one candidate, so up to the end of the `replay` a search's trials
and members follow from its settings alone. `preview` drives the coordinator itself on
placeholder results (no trial runs) as far as that holds: what it returns is exactly what the
search will train there. Past the replay, each step keeps the candidate that trains best, which
only training can tell. A hardware target's figures are measured during the search, so with
one the preview ends at the first figure the coordinator asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from expansion.search.coordinator import Finished, SearchSettings, next_action
from expansion.search.records import Member, TrialOutcome, TrialRecord, TrialSpec
from search_spaces import SearchSpace

# Every placeholder scores the same: only a replay's rule, never accuracy, may decide.
_PLACEHOLDER = TrialOutcome(status="ok", top1=0.0, top5=0.0)


@dataclass(frozen=True)
class Preview:
    """The trials a search will train, in order, as far as they are known; the members known
    by then; whether the search ends within them."""

    trials: tuple[TrialSpec, ...]
    members: tuple[Member, ...]
    complete: bool


class _Unmeasured(Exception):
    """The coordinator asked for a measured figure, which only the search measures."""


class _NoMeasures:
    def latency_ms(self, config: Any) -> NoReturn:
        raise _Unmeasured

    def memory_mb(self, config: Any) -> NoReturn:
        raise _Unmeasured


def preview(space: SearchSpace, settings: SearchSettings) -> Preview:
    """The search's trials and members up to its first choice that needs accuracies (or a
    measured figure)."""
    records: list[TrialRecord] = []
    members: tuple[Member, ...] = ()
    while True:
        try:
            action = next_action(space, settings, records, _NoMeasures())
        except _Unmeasured:
            return Preview(tuple(record.spec for record in records), members, False)
        if isinstance(action, Finished):
            return Preview(tuple(record.spec for record in records), action.members, True)
        members = action.members
        if not all(_foreseen(settings, spec) for spec in action.trials):
            return Preview(tuple(record.spec for record in records), members, False)
        records += [TrialRecord("preview", 0, spec, _PLACEHOLDER) for spec in action.trials]


def _foreseen(settings: SearchSettings, spec: TrialSpec) -> bool:
    """Whether the step of `spec` keeps a model its settings decide: the seed, a replayed step,
    a contraction along the last axis alone (`contract="all"` keeps the most accurate)."""
    if spec.phase == "contract":
        return settings.contract == "last"
    return spec.step == 0 or settings.replayed_axis(spec.step) is not None
