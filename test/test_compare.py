"""The lifter comparison: size, compute and parity from model files; the table and plot from measured rows."""

from pathlib import Path

from pose3d_ros.eval.compare import ModelRow, parity_mm, plot, size_and_compute, table
from pose3d_ros.lift.architectures import build_model
from pose3d_ros.training.export import export, save_untrained


def exported(tmp_path: Path, architecture: str, config: dict) -> Path:
    out = tmp_path / f"{architecture}.onnx"
    export(save_untrained(build_model(architecture, config), architecture, tmp_path / f"{architecture}.ckpt"), out)
    return out


def test_size_compute_and_parity_of_an_exported_model(tmp_path):
    onnx_path = exported(tmp_path, "videopose3d", {"receptive_field": 27, "channels": 16})
    parameters, mflops = size_and_compute(onnx_path.with_suffix(".pt"))
    assert parameters == sum(p.numel() for p in build_model("videopose3d", {"receptive_field": 27,
                                                                           "channels": 16}).parameters())
    # expand conv 51*16*3 MACs x 9 outputs, block conv 16*16*3 x 3 + pointwise 16*16 x 3... all counted twice (FLOPs)
    expected_macs = 51 * 16 * 3 * 9 + 16 * 16 * 3 * 3 + 16 * 16 * 3 + 16 * 16 * 3 * 1 + 16 * 16 + 16 * 51
    assert abs(mflops * 1e6 - 2 * expected_macs) < 1e-6 * 2 * expected_macs + 1
    assert parity_mm(onnx_path) < 1e-2


def test_table_has_a_row_per_model_and_the_reference(tmp_path):
    errors = {"p1_mm": 100.0, "p2_mm": 70.0, "accel_mm": 10.0, "root_mm": 200.0}
    rows = [ModelRow(f"m{i}", "videopose3d", 81, 10**6 * (i + 1), 3.0 + i, {1: 0.5 + i, 8: 2.0 + i}, errors,
                     errors, 1e-4) for i in range(2)]
    text = table(rows, {"p1_mm": 120.0, "p2_mm": 80.0, "accel_mm": 30.0})
    lines = text.splitlines()
    assert len(lines) == 2 + 2 + 1
    assert lines[2].startswith("| m0 | videopose3d | 81 | 1.00 M | 3.0 | 0.50 | 2.00 | 100.0 | 70.0 |")
    assert "MediaPipe" in lines[-1] and "| 120.0 | 80.0 | 30.0 |" in lines[-1]
    assert lines[0].count("|") == lines[2].count("|") == lines[-1].count("|")
    assert plot(rows, tmp_path, {"p1_mm": 120.0, "p2_mm": 80.0, "accel_mm": 30.0}).stat().st_size > 10_000
