"""Evaluation of lifters that read image crops: frames reach LiftStage one per keypoint frame, Pose2Sim views are
read undistorted like their keypoints, and the held-out motion capture (no images) renders each frame's crops."""

import cv2
import numpy as np
import pytest
from test_image_lifter import CAMERA, CROP, SKELETON_REL_M, CropLifter, KeypointLifter
from test_pose2sim_calibration import fixture_text

from pose3d_ros.eval.heldout import evaluate_heldout
from pose3d_ros.eval.lifter import lift_sequence
from pose3d_ros.eval.pose2sim import parse_qualisys, view_frames
from pose3d_ros.lift.crops import crop_people

FPS = 30.0


def _sequence(frames: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """A person walking right: (F, 17, 2) keypoints, (F, 17) confidence (frame 2 unseen) and F random images."""
    roots_m = np.stack([np.linspace(-0.5, 0.5, frames), np.zeros(frames), np.full(frames, 4.0)], -1)
    keypoints_px = np.stack([CAMERA.project(SKELETON_REL_M + r) for r in roots_m]).astype(np.float32)
    confidence = np.ones((frames, 17), np.float32)
    confidence[2] = 0.0
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (CAMERA.height, CAMERA.width, 3), dtype=np.uint8) for _ in range(frames)]
    return keypoints_px, confidence, images


def test_each_keypoint_frame_is_lifted_with_its_own_image():
    keypoints_px, confidence, images = _sequence(6)
    lifter = CropLifter()
    joints, _ = lift_sequence(lifter, keypoints_px, confidence, CAMERA, FPS, iter(images))
    assert np.isnan(joints[2]).all() and np.isfinite(joints[[0, 1, 3, 4, 5]]).all()
    assert len(lifter.calls) == 5
    for call, f in zip(lifter.calls, [0, 1, 3, 4, 5]):
        window_px, window_confidence, crops = call
        np.testing.assert_array_equal(window_px[0, -1], keypoints_px[f])
        np.testing.assert_array_equal(crops, crop_people(images[f], window_px, window_confidence, CAMERA.K, CROP))


def test_image_lifter_without_enough_frames_is_refused():
    keypoints_px, confidence, images = _sequence(4)
    with pytest.raises(ValueError, match="reads 8x8 image crops; pass the frames"):
        lift_sequence(CropLifter(), keypoints_px, confidence, CAMERA, FPS)
    with pytest.raises(ValueError, match=r"frames ended at frame 3; expected one per keypoint frame \(4\)"):
        lift_sequence(CropLifter(), keypoints_px, confidence, CAMERA, FPS, images[:3])
    with pytest.raises(ValueError, match="frame 0: image is 160x120"):
        lift_sequence(CropLifter(), keypoints_px, confidence, CAMERA, FPS, [np.zeros((120, 160, 3), np.uint8)] * 4)


def test_keypoint_lifter_reads_no_frames():
    keypoints_px, confidence, _ = _sequence(4)

    def untouchable():
        raise AssertionError("a keypoint-only lifter must not read frames")
        yield

    without = lift_sequence(KeypointLifter(), keypoints_px, confidence, CAMERA, FPS)
    with_frames = lift_sequence(KeypointLifter(), keypoints_px, confidence, CAMERA, FPS, untouchable())
    np.testing.assert_array_equal(without[0], with_frames[0])
    np.testing.assert_array_equal(without[1], with_frames[1])


def test_view_frames_are_undistorted_onto_the_keypoints_pinhole(tmp_path):
    """A dot drawn at distorted pixels in frame i shows up in frame i where cv2.undistortPoints (the
    reference keypoints' undistortion) puts it."""
    (tmp_path / "calibration").mkdir()
    (tmp_path / "videos").mkdir()
    text = fixture_text()
    (tmp_path / "calibration" / "Calib.qca.txt").write_text(text)
    (camera,) = parse_qualisys(text)
    distorted_px = np.array([[120.0, 150.0], [900.0, 1700.0], [200.0, 1800.0]])
    video = tmp_path / "videos" / f"{camera.name}.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (camera.width, camera.height))
    for x, y in distorted_px:
        frame = np.zeros((camera.height, camera.width, 3), np.uint8)
        cv2.circle(frame, (round(x), round(y)), 6, (255, 255, 255), -1)
        writer.write(frame)
    writer.release()
    expected_px = cv2.undistortPoints(distorted_px[:, None], camera.K, camera.distortion, P=camera.K)[:, 0]
    assert np.linalg.norm(expected_px - distorted_px, axis=-1).min() > 10, "the fixture must distort visibly"
    frames = list(view_frames(camera.name, tmp_path))
    assert len(frames) == 3 and frames[0].shape == (camera.height, camera.width, 3) and frames[0].dtype == np.uint8
    for rgb, expected in zip(frames, expected_px):
        ys, xs = np.nonzero(rgb[..., 0] > 128)
        np.testing.assert_allclose([xs.mean(), ys.mean()], expected, atol=1.0)
    with pytest.raises(ValueError, match="camera 'cam09' not in the calibration; expected one of camA"):
        next(view_frames("cam09", tmp_path))


def test_heldout_motion_capture_gives_an_image_lifter_rendered_crops_of_each_frame():
    lifter = CropLifter()
    result = evaluate_heldout(lifter)
    assert result["frames_scored"] > 100 and np.isfinite(result["p1_mm"])
    crops = np.concatenate([c for _, _, c in lifter.calls])
    assert len(crops) == result["frames"]  # every frame lifted, each with its own render
    assert crops.std() > 0.05, "rendered bodies and backgrounds, not the blank frames' crops"
    assert not np.allclose(crops[0], crops[1])
