"""Print an X3D architecture's stages and complexity, and the six one-step expansions of it.

    python -m expansion.describe XL --crop 356
    python -m expansion.describe --frames 4 --stride 12 --crop 160 --width-factor 2 \\
        --bottleneck-factor 2.25 --depth-factor 2.2 --candidates
    python -m expansion.describe XS --candidates --step-factor 2   # as the search sizes them
    python -m expansion.describe --config runs/x/final.yaml --json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from expansion.architecture import find_preset, load_architecture
from expansion.cli import OneLineParser
from expansion.complexity import config_complexity
from expansion.coordinator import expand
from search_spaces.x3d import PRESETS, X3D_SPACE, X3DConfig, summarize

# Command-line flag → X3DConfig field; the flags override a preset's or a file's values.
CONFIG_FLAGS = {field.name.replace("_", "-"): field.name for field in fields(X3DConfig)}


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return int(value) if value.is_integer() else value


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m expansion.describe",
        description="Describe an X3D architecture: stages, GFLOPs (paper convention), params.",
    )
    parser.add_argument("preset", nargs="?", help=f"one of {', '.join(PRESETS)}")
    parser.add_argument("--config", help="an architecture file (e.g. a search's final.yaml)")
    for flag in CONFIG_FLAGS:
        parser.add_argument(f"--{flag}", type=_positive_number, metavar="N")
    parser.add_argument("--num-classes", type=_positive_number, default=400, metavar="N")
    parser.add_argument(
        "--candidates", action="store_true", help="also the six one-step expansions"
    )
    parser.add_argument(
        "--step-factor",
        type=_positive_number,
        metavar="F",
        help="size each candidate to F × the GFLOPs, as the search does (default: paper steps)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _base_config(args: argparse.Namespace) -> dict[str, Any] | None:
    if args.preset and args.config:
        raise ValueError("give a preset or --config, not both")
    if args.preset:
        preset = find_preset(X3D_SPACE, args.preset)
        if preset is None:
            raise ValueError(f"unknown preset {args.preset!r}; known: {', '.join(PRESETS)}")
        return asdict(preset)
    if args.config:
        space, config = load_architecture(args.config)
        if space is not X3D_SPACE:
            raise ValueError(f"{args.config} describes a {space.name} network, not X3D")
        return asdict(config)
    return None


def config_from_args(args: argparse.Namespace) -> X3DConfig:
    """The configuration named by a preset or file, with explicit flags overriding it."""
    values = _base_config(args) or {}
    overrides = {name: getattr(args, name) for name in CONFIG_FLAGS.values()}
    values.update({name: value for name, value in overrides.items() if value is not None})
    missing = [f"--{flag}" for flag, name in CONFIG_FLAGS.items() if name not in values]
    if missing:
        raise ValueError(f"no preset or --config given, so these are needed: {' '.join(missing)}")
    return X3DConfig(**values)


def describe(
    config: X3DConfig, num_classes: int, candidates: bool, step_factor: float | None = None
) -> dict[str, Any]:
    """Everything `describe` prints, as one JSON-ready mapping.

    The candidates are what a search with `step_factor` proposes (None: the paper steps).
    """
    if step_factor is not None and not step_factor > 1:
        raise ValueError(f"--step-factor must be above 1, got {step_factor}")
    complexity = config_complexity(X3D_SPACE, config, num_classes)
    stages = summarize(config)
    residual_stages = [row for row in stages if row.blocks is not None]
    report: dict[str, Any] = {
        **asdict(config),
        "num_classes": num_classes,
        "gflops": complexity.gflops,
        "params_m": complexity.params_m,
        "stage_widths": [row.width for row in residual_stages],
        "stage_inner_widths": [row.inner for row in residual_stages],
        "stage_blocks": [row.blocks for row in residual_stages],
        "stages": [asdict(row) for row in stages],
    }
    if candidates:
        report["step_factor"] = step_factor
        report["candidates"] = []
        for axis in X3D_SPACE.axes.values():
            candidate = expand(X3D_SPACE, config, axis.name, step_factor, num_classes)
            if candidate is None:  # the axis no longer changes the model
                continue
            gflops = config_complexity(X3D_SPACE, candidate, num_classes).gflops
            report["candidates"].append(
                {
                    "axis": axis.name,
                    "paper_name": axis.paper_name,
                    "step": axis.step,
                    "config": asdict(candidate),
                    "gflops": gflops,
                    "ratio": gflops / complexity.gflops,
                }
            )
    return report


def _format_value(value: float) -> str:
    return f"{value:g}"


def format_table(report: dict[str, Any]) -> str:
    """The human-readable rendering of a `describe` report."""
    lines = [
        f"X3D  {report['frames']} frames × stride {_format_value(report['stride'])}, "
        f"crop {report['crop']}, width {_format_value(report['width_factor'])}, "
        f"bottleneck {_format_value(report['bottleneck_factor'])}, "
        f"depth {_format_value(report['depth_factor'])}",
        "",
        f"{'stage':<7}{'blocks':>7}{'width':>8}{'inner':>8}   output (T×H×W)",
    ]
    for row in report["stages"]:
        blocks = "-" if row["blocks"] is None else str(row["blocks"])
        inner = "-" if row["inner"] is None else str(row["inner"])
        output = f"{row['frames']}×{row['size']}×{row['size']}"
        lines.append(f"{row['name']:<7}{blocks:>7}{row['width']:>8}{inner:>8}   {output}")
    lines += [
        f"{'pool':<7}{'-':>7}{report['stages'][-1]['width']:>8}{'-':>8}   1×1×1",
        f"{'lin5':<7}{'-':>7}{2048:>8}{'-':>8}   1×1×1",
        f"{'fc':<7}{'-':>7}{report['num_classes']:>8}{'-':>8}   classes",
        "",
        f"GFLOPs {report['gflops']:.4g}   params {report['params_m']:.3f} M"
        "   (conv + linear multiply-adds of one clip; params without BN)",
    ]
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        report = describe(config, int(args.num_classes), args.candidates, args.step_factor)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    print(json.dumps(report) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
