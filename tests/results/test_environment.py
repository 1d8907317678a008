"""environment.yaml: what each sitting of a run computed with, and the notice when it changed."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import torch
import yaml

from expansion.results.environment import ENVIRONMENT_YAML, record_environment


def test_each_sitting_is_appended_and_a_changed_environment_is_named(tmp_path: Path) -> None:
    assert record_environment(tmp_path) is None  # the first sitting: nothing to compare with
    assert record_environment(tmp_path) is None  # the same environment
    sittings = yaml.safe_load((tmp_path / ENVIRONMENT_YAML).read_text())
    assert len(sittings) == 2
    first = sittings[0]
    assert first["python"] == platform.python_version()
    assert (first["torch"], first["numpy"]) == (torch.__version__, np.__version__)
    assert first["cpu"].endswith(f"({torch.backends.cpu.get_cpu_capability()})")
    assert first["started"].endswith(" UTC")

    # a run recorded with another numpy and without the av entry: both changes are named
    sittings[-1] |= {"numpy": "1.0.0"}
    del sittings[-1]["av"]
    (tmp_path / ENVIRONMENT_YAML).write_text(yaml.safe_dump(sittings))
    notice = record_environment(tmp_path)
    assert notice is not None and notice.startswith("environment: this run was last computed")
    assert f"numpy 1.0.0 → {np.__version__}" in notice and "av none → " in notice
    assert "torch" not in notice and "started" not in notice
    after = yaml.safe_load((tmp_path / ENVIRONMENT_YAML).read_text())
    assert after[:2] == sittings and after[2]["numpy"] == np.__version__


def test_an_unreadable_record_is_said_and_started_again(tmp_path: Path) -> None:
    (tmp_path / ENVIRONMENT_YAML).write_text("- python: [3.11\n")  # torn by hand
    assert record_environment(tmp_path) == (
        f"environment: {tmp_path / ENVIRONMENT_YAML} could not be read; it starts again with "
        "this sitting"
    )
    sittings = yaml.safe_load((tmp_path / ENVIRONMENT_YAML).read_text())
    assert len(sittings) == 1 and sittings[0]["torch"] == torch.__version__
