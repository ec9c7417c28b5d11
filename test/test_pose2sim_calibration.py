"""Qualisys calibration parsing, weighted and robust DLT triangulation, and frame offsets between views."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pose3d_ros.eval.pose2sim import parse_qualisys
from pose3d_ros.eval.triangulate import estimate_frame_offsets, project, shift_frames, triangulate, triangulate_robust

CENTRE_MM = np.array([3000.0, -2000.0, 1800.0])
TARGET_M = np.array([0.2, 0.1, 1.0])


def qualisys_look_at(centre_mm: np.ndarray, target_m: np.ndarray) -> np.ndarray:
    """Rotation rows (r11..r33) of a Qualisys camera at centre_mm looking at target_m, world z up:
    Qualisys camera axes are x right, y up, z pointing back from the scene."""
    forward = target_m - centre_mm / 1000.0
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    back = -forward
    up = np.cross(back, right)
    return np.stack([right, up, back])


def fixture_text(left: int = 0, top: int = 0) -> str:
    rows = qualisys_look_at(CENTRE_MM, TARGET_M)
    rotation = " ".join(f'r{i + 1}{j + 1}="{rows[i, j]!r}"' for i in range(3) for j in range(3))
    x, y, z = CENTRE_MM
    return f"""<?xml version='1.0' encoding='ASCII'?>
<calibration type="regular">
  <cameras>
    <camera active="1" avg-residual="0.4" model="none" serial="camA" viewrotation="0">
      <fov_video bottom="{top + 1919}" left="{left}" right="{left + 1079}" top="{top}"/>
      <transform {rotation} x="{x}" y="{y}" z="{z}"/>
      <intrinsic centerPointU="{(540 + left) * 64}" centerPointV="{(960 + top) * 64}" focalLengthU="{1600 * 64}"
        focalLengthV="{1610 * 64}" radialDistortion1="{-0.05 * 64}" radialDistortion2="0.0" radialDistortion3="0.0"
        skew="0" tangentalDistortion1="{0.001 * 64}" tangentalDistortion2="0.0"/>
    </camera>
  </cameras>
</calibration>
"""


def test_qualisys_camera_pose_image_size_and_intrinsics():
    (camera,) = parse_qualisys(fixture_text())
    assert camera.name == "camA" and (camera.width, camera.height) == (1080, 1920)
    np.testing.assert_allclose(camera.K, [[1600, 0, 540], [0, 1610, 960], [0, 0, 1]])
    np.testing.assert_allclose(camera.distortion, [-0.05, 0.0, 0.001, 0.0, 0.0])
    np.testing.assert_allclose(camera.R @ camera.R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(camera.R) == pytest.approx(1.0)
    np.testing.assert_allclose(-camera.R.T @ camera.t, CENTRE_MM / 1000.0)


def test_qualisys_camera_sees_its_target_upright():
    (camera,) = parse_qualisys(fixture_text())
    K, R, t = camera.K[None], camera.R[None], camera.t[None]
    points = np.stack([TARGET_M, TARGET_M + [0.0, 0.0, 0.2]])
    depth = (R[0] @ points.T).T + t[0]
    assert (depth[:, 2] > 0).all()
    target_px, above_px = project(points, K, R, t)[0]
    np.testing.assert_allclose(target_px, [540.0, 960.0], atol=1e-9)
    assert above_px[1] < target_px[1] - 50  # world up is image up


def test_qualisys_principal_point_is_relative_to_the_video_window():
    (camera,) = parse_qualisys(fixture_text(left=100, top=40))
    np.testing.assert_allclose(camera.K[:2, 2], [540.0, 960.0])


def test_qualisys_error_names_the_problem():
    with pytest.raises(ValueError, match="not valid XML"):
        parse_qualisys("<calibration>")
    with pytest.raises(ValueError, match="no cameras"):
        parse_qualisys("<calibration><cameras/></calibration>")


def three_cameras() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pinhole cameras 3 m from the origin at 0, 120 and 240 degrees, looking at it."""
    K = np.array([[1500.0, 0.0, 540.0], [0.0, 1500.0, 960.0], [0.0, 0.0, 1.0]])
    Rs, ts = [], []
    for angle in (0.0, 120.0, 240.0):
        centre = 3.0 * np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle)), 0.3])
        z = -centre / np.linalg.norm(centre)
        x = np.cross(z, [0.0, 0.0, 1.0])
        x /= np.linalg.norm(x)
        R = np.stack([x, np.cross(z, x), z])
        Rs.append(R)
        ts.append(-R @ centre)
    return np.stack([K] * 3), np.stack(Rs), np.stack(ts)


def observe(points: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(V, N, 2) pixels by OpenCV's own projection, independent of the code under test."""
    return np.stack([cv2.projectPoints(points, cv2.Rodrigues(R[v])[0], t[v], K[v], None)[0][:, 0]
                     for v in range(len(K))])


@pytest.fixture
def scene() -> tuple[np.ndarray, ...]:
    points = np.random.default_rng(0).uniform(-0.5, 0.5, size=(30, 3)) + [0.0, 0.0, 1.0]
    K, R, t = three_cameras()
    return points, observe(points, K, R, t), K, R, t


def test_triangulation_recovers_points_seen_by_three_cameras(scene):
    points, keypoints, K, R, t = scene
    found = triangulate(keypoints, np.ones(keypoints.shape[:2]), K, R, t)
    assert np.abs(found - points).max() < 1e-6


def test_confidence_weighting_trusts_the_surer_views(scene):
    points, keypoints, K, R, t = scene
    noisy = keypoints.copy()
    noisy[0] += [12.0, -8.0]
    error = {}
    for weight in (1.0, 0.6):
        confidence = np.ones(keypoints.shape[:2])
        confidence[0] = weight
        error[weight] = np.linalg.norm(triangulate(noisy, confidence, K, R, t) - points, axis=-1).mean()
    assert error[0.6] < 0.8 * error[1.0]
    # Below the threshold a view drops out: the two clean views give the exact points.
    confidence = np.ones(keypoints.shape[:2])
    confidence[0] = 0.49
    assert np.abs(triangulate(noisy, confidence, K, R, t) - points).max() < 1e-6


def test_fewer_than_two_confident_views_give_nan(scene):
    points, keypoints, K, R, t = scene
    confidence = np.ones(keypoints.shape[:2])
    confidence[1:, :5] = 0.2
    keypoints = keypoints.copy()
    keypoints[0, 5:8] = np.nan
    keypoints[1, 5:8] = np.nan
    found = triangulate(keypoints, confidence, K, R, t)
    assert np.isnan(found[:8]).all() and np.isfinite(found[8:]).all()


def test_robust_step_drops_the_wrong_view_even_among_three(scene):
    points, keypoints, K, R, t = scene
    wrong = keypoints.copy()
    wrong[1, :10] += [150.0, 90.0]  # a detection on the wrong limb in view 1
    found, used = triangulate_robust(wrong, np.ones(keypoints.shape[:2]), K, R, t)
    assert np.abs(found - points).max() < 1e-6
    assert not used[1, :10].any() and used[:, 10:].all() and used[[0, 2], :10].all()


def test_frame_offsets_between_views_are_found():
    K, R, t = three_cameras()
    frames = np.arange(60)
    rng = np.random.default_rng(1)
    # Points that move fast and non-linearly, like limbs, seen by views started at different times.
    trajectory = (rng.uniform(-0.4, 0.4, size=(1, 12, 3)) + [0.0, 0.0, 1.0]
                  + 0.3 * np.sin(frames[:, None, None] / 4.0 + rng.uniform(0, 6, size=(1, 12, 3))))
    keypoints = observe(trajectory.reshape(-1, 3), K, R, t).reshape(3, 60, 12, 2)
    offsets = np.array([0, 3, -2])
    recorded = shift_frames(keypoints, -offsets)  # view v's frame f + offsets[v] shows instant f
    confidence = np.where(np.isfinite(recorded).all(axis=-1), 1.0, 0.0)
    np.testing.assert_array_equal(estimate_frame_offsets(recorded, confidence, K, R, t), offsets)
    synced = shift_frames(recorded, offsets)
    np.testing.assert_allclose(synced[:, 5:55], keypoints[:, 5:55])


def test_shift_frames_fills_outside_the_recording():
    x = np.arange(10, dtype=float).reshape(2, 5)
    np.testing.assert_array_equal(shift_frames(x, np.array([0, 2]), fill=-1.0),
                                  [[0, 1, 2, 3, 4], [7, 8, 9, -1, -1]])
