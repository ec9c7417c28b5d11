"""NaN-aware P1, P2, root and acceleration errors on synthetic poses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from pose3d_ros.eval.metrics import accel_error_mm, bone_length_cv, p1_mm, p2_mm, procrustes_align, root_error_mm


@pytest.fixture
def ref_m() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal(scale=0.3, size=(20, 17, 3))


def similarity(poses: np.ndarray, seed: int) -> np.ndarray:
    """A different scale, rotation and translation per frame."""
    rng = np.random.default_rng(seed)
    frames = len(poses)
    rotation = Rotation.random(frames, random_state=seed).as_matrix()
    scale = rng.uniform(0.5, 2.0, size=(frames, 1, 1))
    shift = rng.normal(size=(frames, 1, 3))
    return scale * np.einsum("fij,fkj->fki", rotation, poses) + shift


def test_p2_is_invariant_to_scale_rotation_and_translation(ref_m):
    assert np.nanmax(p2_mm(similarity(ref_m, seed=1), ref_m)) < 1e-6
    assert np.nanmean(p1_mm(similarity(ref_m, seed=1), ref_m)) > 100.0


def test_p2_does_not_undo_a_reflection(ref_m):
    mirrored = ref_m * np.array([-1.0, 1.0, 1.0])
    assert np.nanmean(p2_mm(mirrored, ref_m)) > 10.0


def test_p1_is_invariant_to_translation_only(ref_m):
    shifted = ref_m + np.random.default_rng(2).normal(size=(20, 1, 3))
    assert np.max(p1_mm(shifted, ref_m)) < 1e-9
    scaled = ref_m * 1.1
    assert np.mean(p1_mm(scaled, ref_m)) > 1.0


def test_p1_of_one_displaced_joint_is_its_displacement(ref_m):
    pred = ref_m.copy()
    pred[:, 5] += [0.03, 0.0, 0.04]
    errors = p1_mm(pred, ref_m)
    np.testing.assert_allclose(errors[:, 5], 50.0)
    np.testing.assert_allclose(np.delete(errors, 5, axis=1), 0.0, atol=1e-9)


def test_root_error_measures_the_camera_frame_root(ref_m):
    pred = ref_m + [0.0, 0.3, 0.4]
    np.testing.assert_allclose(root_error_mm(pred, ref_m), 500.0)


def test_accel_error_ignores_constant_velocity_added_to_both(ref_m):
    frames = np.arange(len(ref_m))[:, None, None]
    rng = np.random.default_rng(3)
    pred = ref_m + rng.normal(scale=0.02, size=ref_m.shape)
    drift = rng.normal(size=(1, 17, 3)) + rng.normal(size=(1, 17, 3)) * frames
    assert np.max(accel_error_mm(ref_m + drift, ref_m)) < 1e-9
    np.testing.assert_allclose(accel_error_mm(pred + drift, ref_m + drift), accel_error_mm(pred, ref_m), atol=1e-9)


def test_accel_error_of_constant_acceleration(ref_m):
    frames = np.arange(len(ref_m))[:, None]
    pred = ref_m.copy()
    pred[:, 5] += 0.5 * np.array([0.0, 0.002, 0.0]) * frames ** 2
    errors = accel_error_mm(pred, ref_m)
    np.testing.assert_allclose(errors[:, 5], 2.0)
    np.testing.assert_allclose(np.delete(errors, 5, axis=1), 0.0, atol=1e-9)


def test_accel_error_of_a_one_frame_spike(ref_m):
    pred = ref_m.copy()
    pred[10, 3] += [0.0, 0.0, 0.01]
    errors = accel_error_mm(pred, ref_m)
    assert errors.shape == (18, 17)
    # Row f is centred on frame f + 1: the spike shows as 10, 20, 10 mm/frame^2 around frame 10.
    np.testing.assert_allclose(errors[8:11, 3], [10.0, 20.0, 10.0])
    assert np.delete(errors[:, 3], [8, 9, 10]).max() < 1e-9


def test_nan_reference_joints_are_skipped_not_spread(ref_m):
    ref = ref_m.copy()
    ref[4, 7] = np.nan
    pred = similarity(ref_m, seed=4)
    p2 = p2_mm(pred, ref)
    assert np.isnan(p2[4, 7]) and np.isfinite(np.delete(p2[4], 7)).all()
    assert np.nanmax(p2) < 1e-6
    p1 = p1_mm(ref_m, ref)
    assert np.isnan(p1[4, 7]) and np.isfinite(np.delete(p1[4], 7)).all()
    accel = accel_error_mm(ref_m, ref)
    assert np.isnan(accel[2:5, 7]).all() and np.isfinite(np.delete(accel[:, 7], [2, 3, 4])).all()


def test_nan_root_drops_the_frame_and_too_few_joints_drop_procrustes(ref_m):
    ref = ref_m.copy()
    ref[2, 0] = np.nan
    assert np.isnan(p1_mm(ref_m, ref)[2]).all()
    ref[6, 2:] = np.nan
    assert np.isnan(procrustes_align(ref_m, ref)[6]).all()
    assert np.isfinite(p2_mm(ref_m, ref)[5]).all()


def test_procrustes_fits_only_the_joints_both_have(ref_m):
    # A wild predicted joint where the reference is missing must not bend the fit of the others.
    pred = similarity(ref_m, seed=5)
    pred[:, 16] += 10.0
    ref = ref_m.copy()
    ref[:, 16] = np.nan
    assert np.nanmax(p2_mm(pred, ref)) < 1e-6


def test_p2_matches_the_training_p_mpjpe_on_complete_data(ref_m):
    lift_metrics = pytest.importorskip("pose3d_ros.training.metrics")
    pred = ref_m + np.random.default_rng(6).normal(scale=0.05, size=ref_m.shape)
    assert np.nanmean(p2_mm(pred, ref_m)) == pytest.approx(lift_metrics.p_mpjpe(pred, ref_m) * 1000.0, rel=1e-9)


def test_bone_length_cv_is_zero_for_a_rigid_skeleton_and_the_spread_of_a_stretching_one():
    bones = ((0, 1), (1, 2))
    rigid = np.repeat(np.array([[[0.0, 0, 0], [0, 0.5, 0], [0, 1.0, 0]]]), 4, axis=0)
    assert bone_length_cv(rigid, bones) == 0.0
    stretching = rigid * np.array([0.9, 1.0, 1.1, 1.0])[:, None, None]
    expected = np.std([0.9, 1.0, 1.1, 1.0]) / 1.0
    assert bone_length_cv(stretching, bones) == pytest.approx(expected)
    rigid[1, 2] = np.nan
    assert bone_length_cv(rigid[:2], bones) != bone_length_cv(rigid[:2], bones), "one usable frame: NaN"
