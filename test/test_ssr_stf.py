"""SSR-STF lifter: output contract, causality frame by frame, the skeleton walk, ONNX export matches torch."""


import pytest
import torch
from tiny_lifters import assert_onnx_matches_torch, one_thread, randomised  # noqa: F401 (one_thread: a fixture)

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.ssr_stf import SSRSTF, SSRSTFConfig, skeleton_walk, tap_matrices

TINY = {"receptive_field": 9, "dim": 16, "layers": 2, "heads": 2}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model():
    return randomised(SSRSTF(SSRSTFConfig(**TINY)))


def test_one_root_relative_pose_per_window(model):
    out = model(torch.randn(4, 9, 17, 3))
    assert out.shape == (4, 17, 3) and torch.isfinite(out).all()
    assert torch.all(out[:, 0] == 0) and out.abs().max() > 1e-3
    with pytest.raises(ValueError, match="window has 27 frames; this model needs exactly 9"):
        model(torch.randn(1, 27, 17, 3))


def test_untrained_model_predicts_every_joint_at_the_pelvis():
    assert torch.all(SSRSTF(SSRSTFConfig(**TINY))(torch.randn(2, 9, 17, 3)) == 0)


def test_config_errors_name_the_value():
    with pytest.raises(ValueError, match="receptive_field 0 not supported"):
        SSRSTFConfig(receptive_field=0)
    with pytest.raises(ValueError, match="kernel 4 not supported; expected an odd integer"):
        SSRSTFConfig(kernel=4)
    with pytest.raises(ValueError, match="dim 30 with heads 4 not supported"):
        SSRSTFConfig(dim=30, heads=4)


@pytest.mark.parametrize("t", [0, 4, 7])
def test_frame_t_ignores_later_frames(model, t):
    """Every frame's pose comes from frames <= t: changing frames t+1.. leaves frames 0..t unchanged."""
    window = torch.randn(3, 9, 17, 3)
    changed = window.clone()
    changed[:, t + 1:] = torch.randn_like(changed[:, t + 1:])
    with torch.no_grad():
        before, after = model.frame_joints(window), model.frame_joints(changed)
    assert torch.equal(before[:, : t + 1], after[:, : t + 1])
    assert (before[:, t + 1:] - after[:, t + 1:]).abs().max() > 1e-3


def test_newest_frame_shortcut_matches_every_frame_pass(model):
    """forward computes the last layer for the newest frame only; it must equal frame_joints' newest frame."""
    window = torch.randn(5, 9, 17, 3)
    with torch.no_grad():
        torch.testing.assert_close(model(window), model.frame_joints(window)[:, -1], atol=1e-5, rtol=0)


def test_skeleton_walk_follows_every_bone_both_ways():
    walk = skeleton_walk(17, H36M17.bones)
    steps = list(zip(walk, walk[1:]))
    assert len(walk) == 2 * len(H36M17.bones) + 1 and walk[0] == walk[-1] == 0
    assert sorted(steps) == sorted([*H36M17.bones, *((c, p) for p, c in H36M17.bones)])


def test_causal_taps_read_only_the_past():
    taps = tap_matrices(list(range(6)), 6, kernel=3, causal=True)  # (3, 6, 6)
    assert torch.all(taps.sum(0).triu(diagonal=1) == 0)  # no output reads a later position
    assert taps.sum(0)[5, 3:].tolist() == [1.0, 1.0, 1.0]


def test_onnx_export_matches_torch(tmp_path, model):
    meta = assert_onnx_matches_torch(model, "ssr_stf", tmp_path)
    assert meta["architecture"] == "ssr_stf" and meta["receptive_field"] == "9"
