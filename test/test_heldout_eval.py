"""The held-out motion-capture evaluation scores the lifter through the node's code path."""

from pathlib import Path

from pose3d_ros.eval.heldout import evaluate_heldout
from pose3d_ros.eval.heldout_sets import DECISIONS, table
from pose3d_ros.lift import make_lifter

WEIGHTS = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights" / "causal_liu_rf81.onnx"


def test_committed_weights_on_the_held_out_climb_are_human_sized_errors():
    result = evaluate_heldout(make_lifter("onnxruntime", WEIGHTS), noisy=False)
    assert result["frames_scored"] > result["frames"] // 2
    assert 20 < result["p2_mm"] < result["p1_mm"] < 150, result
    assert result["accel_mm"] < 10, "exact 2D of smooth motion must give smooth 3D"


def test_the_held_out_sets_table_marks_the_best_and_what_each_set_decided():
    results = {"a": {"Pose2Sim": {"p2_mm": 70.0, "accel_mm": 20.0}, "CMU walk exact": {"p2_mm": 50.0, "accel_mm": 3.0}},
               "b": {"Pose2Sim": {"p2_mm": 65.0, "accel_mm": 25.0}, "CMU walk exact": {"p2_mm": 55.0, "accel_mm": 2.0}}}
    lines = table(results).splitlines()
    assert lines[0] == "| set | used for decisions | metric | a | b |"
    assert lines[2] == f"| Pose2Sim | {DECISIONS['Pose2Sim']} | P2 mm | 70.0 | **65.0** |"
    assert lines[3] == f"| Pose2Sim | {DECISIONS['Pose2Sim']} | accel mm/frame² | **20.0** | 25.0 |"
    assert lines[4] == "| CMU walk exact | none | P2 mm | **50.0** | 55.0 |"
