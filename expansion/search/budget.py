"""What a model must fit: a GFLOPs target, and the hardware targets measured on the device.

A `Budget` bounds GFLOPs (counted), inference latency and peak training memory (measured). A
model *fits* a budget when every bounded figure is at or under its bound, and *reaches* it when
any figure is at or over its bound, or within the search's `target_tolerance` under it: the
forward steps go on until the kept model reaches the budget (one that reaches it without
passing it is the budget's member as it is), the contraction looks for the largest model that
fits it. With a GFLOPs target and a hardware target together the model must satisfy both.

The coordinator never measures anything itself: measured figures come from `Measures`, which
the driver backs with the run folder's recorded table (`expansion.search.hardware`), so that
the search stays a function of what was recorded, and tests with a fake.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from expansion.search.complexity import gflops_of
from search_spaces import SearchSpace


class Measures(Protocol):
    """A configuration's measured figures, the same every time they are asked for."""

    def latency_ms(self, config: Any) -> float:
        """Inference milliseconds of one clip on the trials' device and threads."""
        ...

    def memory_mb(self, config: Any) -> float:
        """Peak memory (MiB) of training the configuration at the trials' batch."""
        ...


@dataclass(frozen=True)
class Budget:
    """Bounds on a model: GFLOPs (inf: none), latency and memory (None: none)."""

    gflops: float = math.inf
    latency_ms: float | None = None
    memory_mb: float | None = None

    @property
    def hardware(self) -> bool:
        """Whether a bound needs measuring."""
        return self.latency_ms is not None or self.memory_mb is not None

    def __str__(self) -> str:
        if not self.hardware:
            return f"{self.gflops:g}"
        parts = [] if math.isinf(self.gflops) else [f"{self.gflops:g} GFLOPs"]
        if self.latency_ms is not None:
            parts.append(f"{self.latency_ms:g} ms")
        if self.memory_mb is not None:
            parts.append(f"{self.memory_mb:g} MiB")
        return " and ".join(parts)


class Cost:
    """A budget's figures of configurations: GFLOPs counted, the rest from `measures`.

    Figures are looked at lazily, GFLOPs first, so a configuration that the GFLOPs already
    decide is never measured.
    """

    def __init__(
        self,
        space: SearchSpace,
        num_classes: int,
        budget: Budget,
        measures: Measures | None,
        tolerance: float = 0.0,
    ) -> None:
        if budget.hardware and measures is None:
            raise ValueError(f"the budget {budget} needs measured figures; none were given")
        self.space, self.num_classes = space, num_classes
        self.budget, self.measures, self.tolerance = budget, measures, tolerance

    def _figures(self, config: Any) -> Iterator[tuple[float, float, str]]:
        """(figure, bound, unit) of every bounded figure of `config`, measured as needed."""
        budget = self.budget
        if not math.isinf(budget.gflops):
            yield gflops_of(self.space, config, self.num_classes), budget.gflops, "GFLOPs"
        if budget.latency_ms is not None:
            assert self.measures is not None
            yield self.measures.latency_ms(config), budget.latency_ms, "ms"
        if budget.memory_mb is not None:
            assert self.measures is not None
            yield self.measures.memory_mb(config), budget.memory_mb, "MiB"

    def fits(self, config: Any) -> bool:
        return all(figure <= bound for figure, bound, _ in self._figures(config))

    def reached(self, config: Any) -> bool:
        floor = 1 - self.tolerance
        return any(figure >= bound * floor for figure, bound, _ in self._figures(config))

    def share(self, config: Any) -> float:
        """How much of the budget `config` takes: its largest figure ÷ bound (1: at a target)."""
        return max(figure / bound for figure, bound, _ in self._figures(config))

    def measured(self, config: Any) -> str:
        """The measured figures of `config` against their targets, e.g. `, 41.3 ms (97% of
        the 42 ms target)`; "" for a GFLOPs budget."""
        return "".join(
            f", {figure:.4g} {unit} ({figure / bound:.0%} of the {bound:g} {unit} target)"
            for figure, bound, unit in self._figures(config)
            if unit != "GFLOPs"
        )
