"""Sizing candidates: how far along an axis a configuration grows by a GFLOPs ratio, or shrinks
to fit a budget.

Expansion: per axis, bisection finds the largest factor whose configuration stays within
`step_factor` × the parent's GFLOPs, and of it and the next configuration above (axes round to
whole frames, 8-pixel crops, 8-channel widths and whole blocks) the one closer to that goal in
log-ratio is proposed, its factor written with as few digits as give the same network. An axis
that no factor grows is skipped. Contraction bisects the factor below 1 for the largest
configuration within a budget: any cost that does not fall as the factor grows (GFLOPs, or a
latency measured on the device), given as the test `fits`. Complexity must be non-decreasing in
every axis factor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from expansion.search.complexity import gflops_of
from search_spaces import SearchSpace

# Contraction bisects the axis factor on (MIN_CONTRACTION, 1), expansion on a bracket around the
# predicted factor, until the ends lie within FACTOR_TOLERANCE or round to the same configuration.
MIN_CONTRACTION = 1e-3
FACTOR_TOLERANCE = 1e-4
# Expansion searches factors up to the axis's paper step raised to this power × log2(step_factor)
# (at least 1): twice as far as the paper step rescaled to step_factor.
EXPANSION_REACH = 2.0
# The first bracket around the predicted expansion factor is ± this ratio; each widening squares it.
BRACKET_START = 1.005
# An expansion factor is written with the fewest significant digits (up to this many) that build
# the same network as the factor bisection found.
FACTOR_DIGITS = 6


def expand(
    space: SearchSpace, config: Any, axis: str, step_factor: float | None, num_classes: int
) -> Any | None:
    """`config` one forward step out along `axis`, or None if the axis no longer changes it.

    With a `step_factor`, the configuration whose GFLOPs are closest in log-ratio to
    `step_factor` × those of `config`; without, the axis's paper step.
    """
    apply = space.axes[axis].apply
    if step_factor is None:
        grown = space.axes[axis].expand(config)
        return None if grown == config else grown

    def gflops(candidate: Any) -> float:
        return gflops_of(space, candidate, num_classes)

    parent = gflops(config)
    goal = step_factor * parent

    def fits(factor: float) -> bool:
        return gflops(apply(config, factor)) <= goal

    # Counting a model costs up to ~1 s, so bisect only a narrow bracket: predict the factor from
    # the paper step rescaled to step_factor (GFLOPs taken as a power of the factor), then widen
    # a bracket around it until it holds the goal. An axis that cannot reach the goal below the
    # cap offers the cap.
    step = space.axes[axis].step
    cap = step ** (EXPANSION_REACH * max(1.0, math.log2(step_factor)))
    guess = step ** math.log2(step_factor)
    ratio = gflops(apply(config, guess)) / parent
    if ratio > 1:
        guess = min(guess ** (math.log(step_factor) / math.log(ratio)), cap)
    bracket = _bracket(fits, guess, cap)
    factors = [cap] if bracket is None else list(_bisect_factor(config, apply, fits, *bracket))
    grown = [
        apply(config, _short_factor(space, config, apply, factor))
        for factor in factors
        if gflops(apply(config, factor)) > parent
    ]
    if not grown:
        return None
    return min(grown, key=lambda child: abs(math.log(gflops(child) / goal)))


def _bracket(fits: Callable[[float], bool], start: float, cap: float) -> tuple[float, float] | None:
    """Factors `low < high` in [1, cap] with `fits(low)` and not `fits(high)`; None if `cap` fits.

    Searched outwards from `start` in steps that widen from BRACKET_START (each squares the last),
    so that only models near the goal are counted. `fits(1)` must hold.
    """
    widen = BRACKET_START
    if fits(start):
        low, high = start, min(start * widen, cap)
        while fits(high):
            if high >= cap:
                return None
            widen *= widen
            low, high = high, min(high * widen, cap)
    else:
        low, high = max(start / widen, 1.0), start
        while not fits(low):
            widen *= widen
            low, high = max(low / widen, 1.0), low
    return low, high


def _bisect_factor(
    config: Any,
    apply: Callable[[Any, float], Any],
    fits: Callable[[float], bool],
    low: float,
    high: float,
) -> tuple[float, float]:
    """Narrow `fits(low)`, not `fits(high)` to the factors either side of where `fits` flips.

    `fits` must be monotone in the factor (complexity is). The ends come back within
    FACTOR_TOLERANCE, or as soon as they round to the same configuration.
    """
    while high - low > FACTOR_TOLERANCE and apply(config, low) != apply(config, high):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low, high


def _short_factor(
    space: SearchSpace, config: Any, apply: Callable[[Any, float], Any], factor: float
) -> float:
    """The factor with the fewest significant digits that builds what `factor` builds."""

    def network(factor: float) -> tuple[Any, Any]:
        grown = apply(config, factor)
        return space.structure(grown), space.input_view(grown)

    wanted = network(factor)
    for digits in range(1, FACTOR_DIGITS + 1):
        scale = 10.0 ** (digits - 1 - math.floor(math.log10(factor)))
        for rounded in (math.floor(factor * scale) / scale, math.ceil(factor * scale) / scale):
            if rounded > 0 and network(rounded) == wanted:
                return rounded
    return factor


def contract(space: SearchSpace, config: Any, axis: str, fits: Callable[[Any], bool]) -> Any | None:
    """The largest contraction of `config` along `axis` that `fits`, if any does.

    `fits` tells whether a configuration is within the budget; the bisection takes it to be
    monotone in the factor (true below some factor, false above it). A measured cost is so only
    up to its noise: the bisection then lands at one of the factors where the measurements flip.
    """
    apply = space.axes[axis].apply
    if not fits(apply(config, MIN_CONTRACTION)):
        return None
    low, _ = _bisect_factor(
        config, apply, lambda factor: fits(apply(config, factor)), MIN_CONTRACTION, 1.0
    )
    return apply(config, low)
