"""Camera maths: place_root inverts projection, ignores zero-confidence joints, keeps depth; CameraInfo checks."""

import math

import numpy as np
import pytest

from pose3d_ros.camera import CameraInfoError, CameraModel, place_root

K = np.array([[900.0, 0.0, 330.0], [0.0, 700.0, 250.0], [0.0, 0.0, 1.0]])
CAMERA = CameraModel(K, 640, 480)


def _people(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Random root-relative skeletons (P, 17, 3) and roots (P, 3) in front of the camera."""
    joints_rel_m = rng.normal(0.0, 0.3, size=(count, 17, 3))
    joints_rel_m[:, 0] = 0.0
    root_m = rng.uniform([-1.0, -0.5, 3.0], [1.0, 0.5, 8.0], size=(count, 3))
    return joints_rel_m, root_m


def test_place_root_recovers_the_projected_root():
    rng = np.random.default_rng(1)
    joints_rel_m, root_m = _people(rng, 6)
    keypoints_px = CAMERA.project(joints_rel_m + root_m[:, None])
    found = place_root(joints_rel_m, keypoints_px, np.ones((6, 17)), CAMERA)
    np.testing.assert_allclose(found, root_m, atol=1e-6)


def test_zero_confidence_joint_does_not_move_the_root():
    rng = np.random.default_rng(2)
    joints_rel_m, root_m = _people(rng, 4)
    keypoints_px = CAMERA.project(joints_rel_m + root_m[:, None])
    confidence = rng.uniform(0.3, 1.0, size=(4, 17))
    keypoints_px[:, 5] = [1e5, -1e5]
    confidence[:, 5] = 0.0
    found = place_root(joints_rel_m, keypoints_px, confidence, CAMERA)
    np.testing.assert_allclose(found, root_m, atol=1e-6)


def test_depth_is_kept_in_front_of_the_camera():
    rng = np.random.default_rng(3)
    joints_rel_m, _ = _people(rng, 3)
    root_m = np.array([[0.0, 0.0, 0.05], [0.2, 0.1, -2.0], [0.0, 0.0, 4.0]])
    keypoints_px = CAMERA.project(joints_rel_m + root_m[:, None])
    found = place_root(joints_rel_m, keypoints_px, np.ones((3, 17)), CAMERA, min_depth_m=0.3)
    nearest_m = (joints_rel_m + found[:, None])[..., 2].min(axis=1)
    np.testing.assert_allclose(nearest_m[:2], 0.3, atol=1e-9)
    np.testing.assert_allclose(found[2], root_m[2], atol=1e-6)


def test_normalise_inverts_project_with_skew():
    rng = np.random.default_rng(4)
    camera = CameraModel(np.array([[800.0, 3.0, 300.0], [0.0, 750.0, 260.0], [0.0, 0.0, 1.0]]), 640, 480)
    points_m = rng.uniform([-1.0, -1.0, 1.0], [1.0, 1.0, 6.0], size=(5, 17, 3))
    np.testing.assert_allclose(camera.normalise(camera.project(points_m)), points_m[..., :2] / points_m[..., 2:],
                               atol=1e-12)


def test_all_zero_k_is_an_uncalibrated_nominal_camera():
    camera = CameraModel.from_camera_info([0.0] * 9, 640, 480)
    assert camera.calibrated is False
    assert math.degrees(2 * math.atan(camera.width / 2 / camera.fx)) == pytest.approx(60.0)
    assert camera.fy == camera.fx
    assert (camera.cx, camera.cy) == (319.5, 239.5)


def test_calibrated_k_is_kept():
    camera = CameraModel.from_camera_info(K.ravel().tolist(), 640, 480)
    assert camera.calibrated is True
    np.testing.assert_array_equal(camera.K, K)


@pytest.mark.parametrize("k, width, height, named", [
    ([-500.0, 0, 320, 0, 500, 240, 0, 0, 1], 640, 480, "-500.0"),
    ([500.0, 0, 320, 0, 500, 240, 0, 0], 640, 480, "8 values"),
    ([500.0, 0, 320, 0, float("nan"), 240, 0, 0, 1], 640, 480, "nan"),
    ([500.0, 0, 320, 0, 500, 240, 0, 0, 2], 640, 480, "2.0"),
    ([500.0, 0, 320, 0, 500, 240, 0, 0, 1], 0, 480, "0x480"),
    ([500.0, 0, 320, 0, 500, 240, 0, 0, 1], 40000, 480, "40000x480"),
    ([1e-30, 0, 320, 0, 1e-30, 240, 0, 0, 1], 640, 480, "1e-30"),
    ([500.0, 0, 1e300, 0, 500, 240, 0, 0, 1], 640, 480, "1e+300"),
    ([500.0, 0, 1e10, 0, 500, 240, 0, 0, 1], 640, 480, "cx in -640..1280"),
    ([500.0, 0, 320, 0, 50000, 240, 0, 0, 1], 640, 480, "fy within 5x of fx"),
])
def test_bad_camera_info_is_rejected_naming_the_value(k, width, height, named):
    with pytest.raises(CameraInfoError) as err:
        CameraModel.from_camera_info(k, width, height)
    assert named in str(err.value)


def test_camera_info_of_another_image_size_is_scaled_or_replaced_never_used_as_is():
    camera = CameraModel.from_camera_info([1000.0, 0, 640, 0, 1000, 360, 0, 0, 1], 1280, 720)
    assert camera.for_image(1280, 720) == (camera, None)
    half, why = camera.for_image(640, 360)
    np.testing.assert_allclose(half.K, [[500, 0, 320], [0, 500, 180], [0, 0, 1]])
    assert half.calibrated and "scaled" in why
    other, why = camera.for_image(640, 1)
    assert not other.calibrated and (other.width, other.height) == (640, 1) and "another shape" in why
