"""The held-out motion-capture evaluation scores the lifter through the node's code path."""

from pathlib import Path

from pose3d_ros.eval.heldout import evaluate_heldout
from pose3d_ros.lift import make_lifter

WEIGHTS = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights" / "causal_liu_rf81.onnx"


def test_committed_weights_on_the_held_out_climb_are_human_sized_errors():
    result = evaluate_heldout(make_lifter("onnxruntime", WEIGHTS), noisy=False)
    assert result["frames_scored"] > result["frames"] // 2
    assert 20 < result["p2_mm"] < result["p1_mm"] < 150, result
    assert result["accel_mm"] < 10, "exact 2D of smooth motion must give smooth 3D"
