"""The results store: exact round trips, atomic appends under crashes, path.csv and final.yaml."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from expansion import describe
from expansion.results.evidence import LEAD_COLUMNS
from expansion.results.store import PATH_COLUMNS, ResultsStore, table_columns
from expansion.search.records import SEED_AXIS, TrialOutcome, TrialRecord, TrialSpec
from search_spaces.x3d import AXES, X3D_SPACE, X3DConfig

ROOT = Path(__file__).resolve().parents[2]


def approx_gflops(config: X3DConfig) -> float:
    """A quick stand-in for measured complexity (about X2D's 0.021 GFLOPs at the seed)."""
    return (
        0.0207
        * config.frames
        * (config.crop / 112) ** 2
        * (config.width_factor / 2) ** 2
        * config.bottleneck_factor**0.85
        * config.depth_factor**0.9
    )


def make_record(
    config: X3DConfig,
    *,
    step: int,
    axis: str = SEED_AXIS,
    parent: str = "",
    phase: str = "forward",
    top1: float = 0.5,
    status: str = "ok",
    error: str = "",
    trial_id: str | None = None,
    run_id: str = "run-a",
) -> TrialRecord:
    """A finished trial of `config`; failed trials measure nothing."""
    trial_id = trial_id or f"{step:02d}-{axis}"
    spec = TrialSpec(trial_id, step, phase, axis, parent, config, approx_gflops(config), 1.6)
    if status == "failed":
        outcome = TrialOutcome("failed", epochs=1, wall_s=0.4, device="cpu", error=error)
    else:
        history = (round(top1 * 0.6, 4), round(top1 * 0.9, 4), top1)
        outcome = TrialOutcome(
            status, top1, min(1.0, top1 + 0.2), 1.7, 3, 12.5, 40.0, 512.0, "cpu", error, history
        )
    return TrialRecord(run_id, 0, spec, outcome)


def comparable(record: TrialRecord) -> dict[str, Any]:
    """A record's row with NaN made comparable (NaN != NaN would fail every equality)."""
    row = record.to_row(X3D_SPACE)
    return {name: None if value != value else value for name, value in row.items()}


def sample_records() -> list[TrialRecord]:
    """A seed, a fractional-stride expansion, a failed trial and a stopped one."""
    seed = make_record(X3D_SPACE.seed, step=0, trial_id="000", top1=0.25)
    fast = AXES["frame_rate"].expand(X3D_SPACE.seed)
    temporal = AXES["temporal"].apply(fast, 1.5)  # 3 frames: stride 16 · 1.5^-0.415 = 13.6…
    return [
        seed,
        make_record(fast, step=1, axis="frame_rate", parent="000", top1=0.31),
        make_record(temporal, step=2, axis="temporal", parent="01-frame_rate", top1=0.3333333),
        make_record(
            AXES["depth"].expand(fast),
            step=2,
            axis="depth",
            parent="01-frame_rate",
            status="failed",
            error='NA, or a "quoted" message\nover two lines',
        ),
        make_record(
            AXES["width"].expand(fast),
            step=2,
            axis="width",
            parent="01-frame_rate",
            status="stopped",
            top1=0.1,
        ),
    ]


def test_empty_store_reads_as_no_records(tmp_path: Path) -> None:
    assert ResultsStore(tmp_path / "not-yet", X3D_SPACE).records() == []


def test_round_trip_is_exact_through_parquet_and_csv(tmp_path: Path) -> None:
    records = sample_records()
    assert not float(records[2].spec.config.stride).is_integer()
    store = ResultsStore(tmp_path, X3D_SPACE)
    for record in records:
        store.append(record)
    from_parquet = store.records()
    store.parquet_path.unlink()
    from_csv = store.records()
    for read in (from_parquet, from_csv):
        assert [comparable(record) for record in read] == [comparable(r) for r in records]
        failed = read[3]
        assert failed.outcome.error == records[3].outcome.error
        assert math.isnan(failed.outcome.top1) and failed.outcome.epoch_top1 == ()
        assert read[0].outcome.error == "" and read[0].spec.parent == ""
        assert read[2].spec.config.stride == records[2].spec.config.stride
        for record in read:
            assert type(record.spec.step) is int and type(record.seed) is int
            assert type(record.outcome.epochs) is int
            assert type(record.spec.config.frames) is int
            assert type(record.spec.config.crop) is int
        assert [r.trial_id for r in read] == [
            "000",
            "01-frame_rate",
            "02-temporal",
            "02-depth",
            "02-width",
        ]


def test_tables_have_the_record_columns_in_order(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path, X3D_SPACE)
    store.append(sample_records()[0])
    columns = list(pd.read_parquet(store.parquet_path).columns)
    assert columns == list(pd.read_csv(store.csv_path).columns) == table_columns(X3D_SPACE)
    ids = ["run_id", "trial_id", "step", "phase", "axis", "parent", "inherited_from"]
    assert columns[:7] == ids
    assert columns[7:10] == ["budget", "resumed_from", "seed_offset"]
    assert columns[10:16] == list(X3D_SPACE.to_dict(X3D_SPACE.seed))
    assert {"gflops", "top1", "status", "error", "seed", "device", "epoch_top1"} <= set(columns)


def test_csv_is_read_when_parquet_is_corrupt(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path, X3D_SPACE)
    records = sample_records()
    for record in records:
        store.append(record)
    store.parquet_path.write_bytes(b"PAR1 not really")
    assert [comparable(r) for r in store.records()] == [comparable(r) for r in records]
    # Appending after that rebuilds a valid Parquet table from the CSV's rows.
    extra = make_record(X3D_SPACE.seed, step=3, trial_id="extra")
    store.append(extra)
    assert len(pd.read_parquet(store.parquet_path)) == len(records) + 1


class Crash(Exception):
    """Stands in for the process dying at a chosen instant."""


@pytest.mark.parametrize("crash_at_replace", [1, 2])
def test_a_crash_mid_append_keeps_every_recorded_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at_replace: int
) -> None:
    """Replace #1 publishes the Parquet table, #2 the CSV: dying before either loses nothing."""
    store = ResultsStore(tmp_path, X3D_SPACE)
    records = sample_records()
    for record in records[:3]:
        store.append(record)
    calls = []
    real_replace = os.replace

    def dying_replace(source: Any, target: Any) -> None:
        calls.append(target)
        if len(calls) == crash_at_replace:
            raise Crash
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", dying_replace)
    with pytest.raises(Crash):
        store.append(records[3])
    monkeypatch.undo()
    # Before the Parquet rename: the old table. Between the renames: Parquet is ahead and wins.
    expected = records[:3] if crash_at_replace == 1 else records[:4]
    assert [comparable(r) for r in store.records()] == [comparable(r) for r in expected]
    assert len(pd.read_csv(store.csv_path)) == 3
    store.append(records[4])
    assert len(store.records()) == len(expected) + 1
    assert len(pd.read_csv(store.csv_path)) == len(expected) + 1


APPEND_FOREVER = """
import sys
from pathlib import Path
from test_store import make_record
from expansion.results.store import ResultsStore
from search_spaces.x3d import X3D_SPACE
store = ResultsStore(Path(sys.argv[1]), X3D_SPACE)
step = 0
while True:
    store.append(make_record(X3D_SPACE.seed, step=step, trial_id=f"t{step}"))
    print(step, flush=True)
    step += 1
"""


def test_sigkill_while_appending_leaves_a_valid_prefix(tmp_path: Path) -> None:
    """Kill a process that appends in a loop: every row it reported as written is still there."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "results")]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", APPEND_FOREVER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    reported = [int(child.stdout.readline()) for _ in range(12)]
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    steps = [record.spec.step for record in ResultsStore(tmp_path, X3D_SPACE).records()]
    assert steps == list(range(len(steps))) and len(steps) >= len(reported)
    csv_steps = pd.read_csv(tmp_path / "trials.csv")["step"].tolist()
    assert csv_steps == list(range(len(csv_steps))) and len(steps) - len(csv_steps) in (0, 1)


def test_path_csv_holds_the_kept_models(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path, X3D_SPACE)
    kept = sample_records()[:3]
    store.write_path(kept)
    table = pd.read_csv(tmp_path / "path.csv", dtype={"trial_id": str})
    config_fields = X3D_SPACE.to_dict(X3D_SPACE.seed)
    assert list(table.columns) == [*PATH_COLUMNS, *LEAD_COLUMNS, *config_fields]
    assert table["trial_id"].tolist() == ["000", "01-frame_rate", "02-temporal"]
    assert table["axis"].tolist() == [SEED_AXIS, "frame_rate", "temporal"]
    assert table["stride"].tolist() == [r.spec.config.stride for r in kept]
    assert table["top1"].tolist() == [r.outcome.top1 for r in kept]


def test_final_yaml_is_an_architecture_file_describe_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ResultsStore(tmp_path, X3D_SPACE)
    chosen = sample_records()[2]
    note = "rounding allows no model within 85 % of the target along temporal"
    store.write_final(chosen, note, {"target_gflops": 0.1, "axes": ["temporal"]})
    document = yaml.safe_load((tmp_path / "final.yaml").read_text())
    assert document["space"] == "x3d"
    assert document["config"] == X3D_SPACE.to_dict(chosen.spec.config)
    assert document["trial_id"] == "02-temporal" and document["note"] == note
    assert document["target_gflops"] == 0.1
    assert document["gflops"] == chosen.spec.gflops and document["top1"] == chosen.outcome.top1
    assert describe.main(["--config", str(tmp_path / "final.yaml"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 3 and report["stride"] == chosen.spec.config.stride
