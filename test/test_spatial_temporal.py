"""Spatial-temporal lifter: output contract, it is exactly AMPose until it learns to use time, it reads only the
past, ONNX export matches torch; and the detector-like noise in time that trains it."""

import dataclasses

import numpy as np
import pytest
import torch
from tiny_lifters import assert_onnx_matches_torch, one_thread, randomised  # noqa: F401 (one_thread: a fixture)

from pose3d_ros.data.augment import AugmentConfig, ar1, bursts, detector_noise, facing_yaw, recombine
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.ampose import AMPose
from pose3d_ros.lift.spatial_temporal import SpatialTemporal, SpatialTemporalConfig

TINY = {"receptive_field": 27, "channels": 16, "groups": 4, "reduction": 8, "dim": 16, "pairs": 2, "heads": 2}

pytestmark = pytest.mark.usefixtures("one_thread")


def test_one_root_relative_pose_per_window():
    model = randomised(SpatialTemporal(SpatialTemporalConfig(**TINY)))
    out = model.eval()(torch.randn(4, 27, 17, 3))
    assert out.shape == (4, 17, 3) and torch.isfinite(out).all()
    assert torch.all(out[:, 0] == 0) and out.abs().max() > 1e-3
    with pytest.raises(ValueError, match="window has 81 frames; this model needs exactly 27"):
        model(torch.randn(1, 81, 17, 3))


def test_config_errors_name_the_value():
    with pytest.raises(ValueError, match="receptive_field 30 not supported; expected 27, 81 or 243"):
        SpatialTemporalConfig(receptive_field=30)
    with pytest.raises(ValueError, match=r"dim 30 not supported; expected a positive multiple of heads \(4\)"):
        SpatialTemporalConfig(dim=30)


def test_it_is_the_single_frame_ampose_it_starts_from():
    """AMPose's weights load under the same names and, with no motion tokens yet, give AMPose's answer."""
    cfg = SpatialTemporalConfig(**TINY)
    ampose = randomised(AMPose(cfg.ampose)).eval()
    model = SpatialTemporal(cfg).eval()
    assert model.load_state_dict(ampose.state_dict(), strict=False).unexpected_keys == []
    window = torch.randn(3, 27, 17, 3)
    torch.testing.assert_close(model(window), ampose(window[:, -1:]))
    with torch.no_grad():
        torch.nn.init.normal_(model.to_tokens.weight, std=0.1)  # once it uses time, older frames matter
        older = window.clone()
        older[:, :-1] += 0.5
        assert (model(older) - model(window)).abs().max() > 1e-4


def test_temporal_only_trains_the_temporal_model_and_its_tokens_alone():
    model = SpatialTemporal(SpatialTemporalConfig(**TINY, temporal_only=True))
    trained = {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}
    assert trained == {"temporal", "to_tokens"}
    assert all(p.requires_grad for p in SpatialTemporal(SpatialTemporalConfig(**TINY)).parameters())


def test_only_the_newest_frame_and_those_before_it_are_read():
    model = randomised(SpatialTemporal(SpatialTemporalConfig(**TINY))).eval()
    window = torch.randn(2, 27, 17, 3)
    with torch.no_grad():
        full = model(window)
        shifted = model(torch.cat([window[:, 1:], window[:, -1:]], dim=1))  # a different past, same newest frame
    assert (full - shifted).abs().max() > 1e-5, "the window's past is ignored"


def test_onnx_export_matches_torch(tmp_path):
    meta = assert_onnx_matches_torch(randomised(SpatialTemporal(SpatialTemporalConfig(**TINY))), "spatial_temporal",
                                     tmp_path)
    assert meta["architecture"] == "spatial_temporal" and meta["receptive_field"] == "27"


def test_drift_is_a_stationary_ar1_series():
    x = ar1(np.random.default_rng(0), (4000, 40, 1, 1), 0.9)
    assert x.std() == pytest.approx(1.0, abs=0.03)
    lag1 = np.mean(x[:, 1:] * x[:, :-1]) / np.mean(x**2)
    assert lag1 == pytest.approx(0.9, abs=0.01)


def test_bursts_have_their_length_and_reach_the_newest_frame():
    runs = bursts(np.random.default_rng(1), 20000, 27, 0.5, (3, 6))
    lengths = runs.sum(1)
    assert 0.45 < np.mean(lengths > 0) < 0.55 and lengths.max() == 6
    starts = np.diff(runs.astype(int), axis=1, prepend=0) == 1
    assert np.all(starts.sum(1) <= 1), "more than one run in a window"
    assert np.mean(runs[:, -1]) == pytest.approx(np.mean(runs[:, 13]), abs=0.015)  # newest frame as often as any


def test_flips_swap_left_and_right_and_occlusions_lower_confidence():
    rng = np.random.default_rng(2)
    keypoints = np.broadcast_to(np.arange(17, dtype=float)[None, None, :, None], (500, 9, 17, 2)).copy()
    keypoints[..., 1] += 100.0  # a 2D height of 100 px
    quiet = AugmentConfig(noise_per_height=(0.0, 0.0), drop_prob=(0.0, 0.0), outlier_prob=0.0,
                          confidence=(1.0, 1.0))
    noisy, conf = detector_noise(rng, keypoints, dataclasses.replace(quiet, flip_prob=1.0, flip_frames=(3, 3)))
    flipped = np.all(noisy == keypoints[:, :, H36M17.flip_permutation()], axis=(2, 3))
    assert np.all(flipped | np.all(noisy == keypoints, axis=(2, 3))) and np.all(conf == 1.0)
    assert 0.2 < flipped.mean() < 0.35  # runs of 3 frames placed anywhere they overlap the 9-frame window
    noisy, conf = detector_noise(rng, keypoints, dataclasses.replace(
        quiet, occlusion_prob=1.0, occlusion_frames=(9, 9), occlusion_confidence=(0.2, 0.3)))
    low = conf < 1.0
    assert np.all(np.isin(low.sum(2), [0, 2])) and low.any() and np.all((conf[low] >= 0.2) & (conf[low] < 0.3))
    assert np.all(np.isin(np.flatnonzero(low.any((0, 1))), [5, 6, 2, 3, 12, 13, 15, 16]))


def test_recombined_bodies_keep_the_lower_body_and_face_its_way():
    rng = np.random.default_rng(3)
    joints, donors = rng.normal(0, 0.3, (2, 50, 4, 17, 3))
    out = recombine(rng, joints, donors, AugmentConfig(recombine_prob=1.0))
    lower = [H36M17.index[n] for n in ("pelvis", "left_hip", "left_knee", "left_ankle", "right_hip", "right_knee",
                                       "right_ankle")]
    np.testing.assert_array_equal(out[:, :, lower], joints[:, :, lower])
    upper = [i for i in range(17) if i not in lower]
    relative = out[:, :, upper] - out[:, :, :1]
    np.testing.assert_allclose(np.linalg.norm(relative, axis=-1),
                               np.linalg.norm(donors[:, :, upper] - donors[:, :, :1], axis=-1), atol=1e-12)
    np.testing.assert_allclose(relative[..., 2], (donors[:, :, upper] - donors[:, :, :1])[..., 2], atol=1e-12)
    donor_shoulders = donors[:, :, H36M17.index["right_shoulder"]] - donors[:, :, H36M17.index["left_shoulder"]]
    out_shoulders = out[:, :, H36M17.index["right_shoulder"]] - out[:, :, H36M17.index["left_shoulder"]]
    turn = np.arctan2(out_shoulders[..., 1], out_shoulders[..., 0]) - np.arctan2(donor_shoulders[..., 1],
                                                                                  donor_shoulders[..., 0])
    expected = facing_yaw(joints) - facing_yaw(donors)
    np.testing.assert_allclose(np.angle(np.exp(1j * (turn - expected))), 0.0, atol=1e-9)
