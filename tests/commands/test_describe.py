"""`python -m expansion.describe`: tables, JSON, architecture files and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from expansion.describe import main
from expansion.results.architecture import (
    load_architecture,
    resolve_architecture,
    save_architecture,
)
from search_spaces.x3d import AXES, PRESETS, X3D_SPACE, X3DConfig


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_preset_with_test_crop(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "XL", "--crop", "356")
    assert report["crop"] == 356 and report["frames"] == 16 and report["width_factor"] == 2.9
    assert abs(report["gflops"] - 48.4) < 0.005 * 48.4
    assert abs(report["params_m"] - 11.0) < 0.05
    assert report["stage_widths"] == [32, 72, 136, 280]
    assert report["stage_blocks"] == [5, 10, 25, 15]


def test_explicit_flags_equal_the_preset(capsys: pytest.CaptureFixture[str]) -> None:
    flags = "--frames 4 --stride 12 --crop 160 --width-factor 2 --bottleneck-factor 2.25"
    explicit = run_json(capsys, *flags.split(), "--depth-factor", "2.2")
    assert explicit == run_json(capsys, "xs")


def test_candidates_are_the_six_axis_steps(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "XS", "--candidates")
    assert [c["axis"] for c in report["candidates"]] == list(AXES)
    for candidate in report["candidates"]:
        expected = AXES[candidate["axis"]].expand(PRESETS["XS"])
        assert X3DConfig(**candidate["config"]) == expected
        assert candidate["gflops"] == pytest.approx(candidate["ratio"] * report["gflops"])


def test_candidates_sized_as_the_search_sizes_them(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "XS", "--candidates", "--step-factor", "2")
    sized = {c["axis"]: X3DConfig(**c["config"]) for c in report["candidates"]}
    assert list(sized) == list(AXES)
    assert all(1.9 <= c["ratio"] <= 2.1 for c in report["candidates"])
    paper = {c["axis"]: c["ratio"] for c in run_json(capsys, "XS", "--candidates")["candidates"]}
    # The paper's width step grows XS 1.82×, its bottleneck step 2.19×: sized, both ≈ 2×.
    assert paper["width"] < 1.9 and paper["bottleneck"] > 2.1
    assert sized["width"].width_factor > AXES["width"].expand(PRESETS["XS"]).width_factor
    xs_bottleneck = AXES["bottleneck"].expand(PRESETS["XS"]).bottleneck_factor
    assert sized["bottleneck"].bottleneck_factor < xs_bottleneck


def test_table_shows_stages_totals_and_candidates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["M", "--candidates"]) == 0
    text = capsys.readouterr().out
    assert "res4        11      96     216   16×14×14" in text
    assert "GFLOPs 4.732   params 3.763 M" in text
    assert "frame_rate (X-Fast γτ)" in text and "frames 32, stride 2.5" in text


def test_reads_an_architecture_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "final.yaml"
    save_architecture(path, X3D_SPACE, PRESETS["S"], {"gflops": 1.963, "top1": 0.5})
    assert load_architecture(path) == (X3D_SPACE, PRESETS["S"])
    assert resolve_architecture(str(path)) == (X3D_SPACE, PRESETS["S"])
    assert resolve_architecture("m") == (X3D_SPACE, PRESETS["M"])
    report = run_json(capsys, "--config", str(path), "--frames", "16")
    assert (report["frames"], report["stride"]) == (16, 6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["XXL"], "unknown preset 'XXL'"),
        (["XS", "--crop", "0"], "argument --crop: '0' must be positive"),
        (["XS", "--stride", "-2"], "argument --stride: '-2' must be positive"),
        (["XS", "--depth-factor", "deep"], "'deep' is not a number"),
        (["XS", "--gamma", "2"], "unrecognized arguments: --gamma 2"),
        (["--frames", "4"], "these are needed: --stride --crop"),
        (["--config", "/no/such/final.yaml"], "cannot read architecture file"),
        (["XS", "--frames", "2.5"], "whole numbers"),
        (["XS", "--candidates", "--step-factor", "1"], "--step-factor must be above 1, got 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_bad_architecture_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "garbage.yaml": "config: [unclosed",
        "list.yaml": "- 1\n- 2\n",
        "fields.yaml": "space: x3d\nconfig: {frames: 4}\n",
        "space.yaml": "space: resnet\nconfig: {frames: 4}\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(SystemExit) as exit_info:
            main(["--config", str(tmp_path / name)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and (name in err or "resnet" in err), err


def test_module_entry_point_exits_2_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "expansion.describe", "XS", "--crop", "-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_latency_is_measured_on_this_device(capsys: pytest.CaptureFixture[str]) -> None:
    report = run_json(capsys, "X2D", "--crop", "32", "--latency", "--batch", "2")
    assert report["latency_ms"] > 0 and report["throughput_clips_s"] > 0
    assert report["latency_batch"] == 2 and report["latency_device"] in {"cpu", "cuda:0"}
    assert main(["X2D", "--crop", "32", "--latency", "--batch", "2"]) == 0
    assert "ms (1 clip), throughput" in capsys.readouterr().out
