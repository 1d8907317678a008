"""Print an architecture's complexity and details, and the one-step expansions of it.

    python -m expansion.describe XL --crop 356
    python -m expansion.describe --frames 4 --stride 12 --crop 160 --width-factor 2 \\
        --bottleneck-factor 2.25 --depth-factor 2.2 --candidates
    python -m expansion.describe XS --candidates --step-factor 2   # as the search sizes them
    python -m expansion.describe --config runs/x/final.yaml --json
    python -m expansion.describe --space NAME PRESET               # another registered family
    python -m expansion.describe M --latency                       # measured on this device

The configuration flags are the fields of the family's configurations (X3D: `--frames`,
`--stride`, `--crop`, `--width-factor`, `--bottleneck-factor`, `--depth-factor`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import torch

from expansion.cli import OneLineParser, user_errors_as_one_line
from expansion.errors import ConfigError
from expansion.results.architecture import find_preset, load_architecture
from expansion.search.complexity import config_complexity
from expansion.search.sizing import expand
from expansion.training import runtime
from expansion.training.latency import measure_speed
from search_spaces import DEFAULT_SPACE, SPACES, SearchSpace, get_space

PROG = "python -m expansion.describe"


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return int(value) if value.is_integer() else value


def config_flags(space: SearchSpace) -> dict[str, str]:
    """Command-line flag → configuration field; the flags override a preset's or a file's."""
    return {name.replace("_", "-"): name for name in space.to_dict(space.seed)}


def _parser(space: SearchSpace) -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Describe an architecture: GFLOPs (paper convention), params, stages.",
    )
    parser.add_argument("--space", default=DEFAULT_SPACE, help=f"one of {', '.join(SPACES)}")
    parser.add_argument("preset", nargs="?", help=f"one of {', '.join(space.presets)}")
    parser.add_argument("--config", help="an architecture file (e.g. a search's final.yaml)")
    seed = space.to_dict(space.seed)
    for flag, name in config_flags(space).items():
        numeric = isinstance(seed[name], int | float)
        parser.add_argument(f"--{flag}", type=_positive_number if numeric else str, metavar="N")
    parser.add_argument("--num-classes", type=_positive_number, default=400, metavar="N")
    parser.add_argument(
        "--candidates", action="store_true", help="also the one-step expansions along every axis"
    )
    parser.add_argument(
        "--step-factor",
        type=_positive_number,
        metavar="F",
        help="size each candidate to F × the GFLOPs, as the search does (default: paper steps)",
    )
    parser.add_argument(
        "--latency",
        action="store_true",
        help="also measure inference latency (1 clip) and throughput on this machine's device",
    )
    parser.add_argument(
        "--batch", type=_positive_number, default=16, metavar="N", help="clips for --latency"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _base_config(args: argparse.Namespace, space: SearchSpace) -> tuple[SearchSpace, dict]:
    if args.preset and args.config:
        raise ConfigError("give a preset or --config, not both")
    if args.preset:
        preset = find_preset(space, args.preset)
        if preset is None:
            known = ", ".join(space.presets)
            raise ConfigError(f"unknown preset {args.preset!r}; known: {known}")
        return space, space.to_dict(preset)
    if args.config:
        space, config = load_architecture(args.config)
        return space, space.to_dict(config)
    return space, {}


def config_from_args(args: argparse.Namespace, space: SearchSpace) -> tuple[SearchSpace, Any]:
    """The configuration named by a preset or file, with explicit flags overriding it."""
    space, values = _base_config(args, space)
    flags = config_flags(space)
    overrides = {name: getattr(args, name, None) for name in flags.values()}
    values.update({name: value for name, value in overrides.items() if value is not None})
    missing = [f"--{flag}" for flag, name in flags.items() if name not in values]
    if missing:
        raise ConfigError(f"no preset or --config given, so these are needed: {' '.join(missing)}")
    return space, space.from_dict(values)


def describe(
    space: SearchSpace,
    config: Any,
    num_classes: int,
    candidates: bool,
    step_factor: float | None = None,
) -> dict[str, Any]:
    """Everything `describe` prints, as one JSON-ready mapping.

    The candidates are what a search with `step_factor` proposes (None: the paper steps).
    """
    if step_factor is not None and not step_factor > 1:
        raise ConfigError(f"--step-factor must be above 1, got {step_factor}")
    complexity = config_complexity(space, config, num_classes)
    report: dict[str, Any] = {
        **space.to_dict(config),
        "num_classes": num_classes,
        "gflops": complexity.gflops,
        "params_m": complexity.params_m,
    }
    report |= space.details(config)
    if candidates:
        report["step_factor"] = step_factor
        report["candidates"] = []
        for axis in space.axes.values():
            candidate = expand(space, config, axis.name, step_factor, num_classes)
            if candidate is None:  # the axis no longer changes the model
                continue
            gflops = config_complexity(space, candidate, num_classes).gflops
            report["candidates"].append(
                {
                    "axis": axis.name,
                    "paper_name": axis.paper_name,
                    "step": axis.step,
                    "config": space.to_dict(candidate),
                    "gflops": gflops,
                    "ratio": gflops / complexity.gflops,
                }
            )
    return report


def measure(space: SearchSpace, config: Any, num_classes: int, batch: int) -> dict[str, Any]:
    """Latency and throughput of a freshly built `config` on this machine's device (CUDA when
    present), with torch's threads as they are."""
    device = runtime.pick_device(None)
    model = runtime.prepare_model(space.build(config, num_classes), device)
    speed = measure_speed(model, space.input_view(config), batch, device)
    return {
        "latency_ms": speed.latency_ms,
        "throughput_clips_s": speed.throughput_clips_s,
        "latency_batch": batch,
        "latency_device": runtime.device_name(device),
        "latency_threads": torch.get_num_threads(),
    }


def _format_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def format_table(space: SearchSpace, report: dict[str, Any]) -> str:
    """The human-readable rendering of a `describe` report."""
    lines = space.format_details(report) or [
        space.label(space.from_dict(_config_of(space, report)))
    ]
    lines += [
        "",
        f"GFLOPs {report['gflops']:.4g}   params {report['params_m']:.3f} M"
        "   (conv + linear multiply-adds of one clip; params without BN)",
    ]
    if "latency_ms" in report:
        lines.append(
            f"latency {report['latency_ms']:.1f} ms (1 clip), throughput "
            f"{report['throughput_clips_s']:.1f} clips/s (batch {report['latency_batch']}) on "
            f"{report['latency_device']}, {report['latency_threads']} threads"
        )
    if "candidates" in report:
        lines += ["", f"{'one-step expansion':<30}{'config change':<34}{'GFLOPs':>9}{'×':>7}"]
        for candidate in report["candidates"]:
            changed = ", ".join(
                f"{name} {_format_value(value)}"
                for name, value in candidate["config"].items()
                if value != report[name]
            )
            label = f"{candidate['axis']} ({candidate['paper_name']})"
            lines.append(
                f"{label:<30}{changed:<34}{candidate['gflops']:>9.4g}{candidate['ratio']:>7.2f}"
            )
    return "\n".join(lines)


def _config_of(space: SearchSpace, report: dict[str, Any]) -> dict[str, Any]:
    return {name: report[name] for name in space.to_dict(space.seed)}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    family = argparse.ArgumentParser(add_help=False)
    family.add_argument("--space", default=DEFAULT_SPACE)
    with user_errors_as_one_line(PROG):
        space = get_space(family.parse_known_args(argv)[0].space)
    args = _parser(space).parse_args(argv)
    with user_errors_as_one_line(PROG):
        space, config = config_from_args(args, space)
        report = describe(space, config, int(args.num_classes), args.candidates, args.step_factor)
        if args.latency:
            report |= measure(space, config, int(args.num_classes), int(args.batch))
    print(json.dumps(report) if args.json else format_table(space, report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
