"""The notebooks run top to bottom on recorded runs (no training): one that stops working fails
here, as a user opening it would find."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
RECORDED_RUN = ROOT / "experiments" / "x3d_xs_cpu" / "seed0"  # a finished single-target search


def execute(name: str, environment: dict[str, str]) -> nbformat.NotebookNode:
    """`notebooks/<name>` executed from the project root with `environment` added."""
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)  # the kernel inherits this process's environment
    try:
        NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def test_the_family_notebook_draws_fig2_and_sets_members_beside_the_presets(
    tmp_path: Path,
) -> None:
    execute(
        "x3d_family.ipynb", {"X3D_FAMILY_RUNS": str(RECORDED_RUN), "NOTEBOOK_OUT": str(tmp_path)}
    )
    assert (tmp_path / "x3d_family.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(tmp_path / "x3d_family_members.csv")
    # the run's final model (0.594 GFLOPs, no members.csv) is its one member, nearest to XS
    assert list(table["member"]) == ["s06-contract-width"]
    assert list(table["preset"]) == ["XS"]
    assert table["preset gflops"][0] == pytest.approx(0.605, abs=0.001)  # the paper's Table 2


def test_the_comparison_notebook_runs_on_the_recorded_searches(tmp_path: Path) -> None:
    notebook = execute("compare_searches.ipynb", {"NOTEBOOK_OUT": str(tmp_path)})
    assert (tmp_path / "frontier.png").exists() and (tmp_path / "path.png").exists()
    assert not [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
