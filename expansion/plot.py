"""Redraw a search's figures from its run directory, or overlay several runs.

python -m expansion.plot runs/x3d-0.6                 # frontier.png, path.png (and
                                                      # frontier_latency.png) in that dir
python -m expansion.plot runs/seed0 runs/seed1 --out figures
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from expansion.cli import OneLineParser, user_errors_as_one_line
from expansion.results.figures import draw_figures
from expansion.results.run_table import load_run

PROG = "python -m expansion.plot"


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog=PROG,
        description="Draw frontier.png (top-1 vs GFLOPs), frontier_latency.png (top-1 vs measured "
        "latency, labelled by device) and path.png (the kept model per step).",
    )
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for the figures (default: the run dir, or the current folder for several)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = args.out or (args.run_dirs[0] if len(args.run_dirs) == 1 else Path.cwd())
    with user_errors_as_one_line(PROG):
        runs = [load_run(run_dir) for run_dir in args.run_dirs]
        for path in draw_figures(runs, out):
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
