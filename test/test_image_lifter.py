"""Lifters that read image crops: LiftStage cuts them from the image the keypoints came from, or lifts nobody."""

import numpy as np

from pose3d_ros.camera import CameraModel
from pose3d_ros.lift.crops import crop_people
from pose3d_ros.people import Person2D
from pose3d_ros.pipeline import LiftStage

T = 5
CROP = 8
FRAME_NS = 33_333_333
CAMERA = CameraModel(np.array([[500.0, 0.0, 160.0], [0.0, 500.0, 120.0], [0.0, 0.0, 1.0]]), 320, 240)
SKELETON_REL_M = np.random.default_rng(0).normal(0.0, 0.25, size=(17, 3))
SKELETON_REL_M[0] = 0.0


class CropLifter:
    """Reads crops like lifting_by_image; returns a fixed skeleton and records what it was given."""

    receptive_field = T
    layout_name = "h36m17"
    crop_size = CROP

    def __init__(self):
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def lift(self, keypoints_px, confidence, camera, crops=None):
        assert crops is not None and crops.shape == (len(keypoints_px), 3, CROP, CROP) and crops.dtype == np.float32
        self.calls.append((keypoints_px.copy(), confidence.copy(), crops.copy()))
        return np.repeat(SKELETON_REL_M[None], len(keypoints_px), axis=0).astype(np.float32)


class KeypointLifter:
    """A keypoint-only lifter whose lift() has no crops argument at all: passing one would fail."""

    receptive_field = T
    layout_name = "h36m17"
    crop_size = 0

    def lift(self, keypoints_px, confidence, camera):
        return np.repeat(SKELETON_REL_M[None], len(keypoints_px), axis=0).astype(np.float32)


def _person(track_id: int, root_m) -> Person2D:
    keypoints_px = CAMERA.project(SKELETON_REL_M + np.asarray(root_m)).astype(np.float32)
    return Person2D(track_id, keypoints_px, np.full(17, 0.9, np.float32), 0.9, np.zeros(4, np.float32))


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (CAMERA.height, CAMERA.width, 3), dtype=np.uint8)


def test_crops_are_cut_from_the_image_around_each_window():
    lifter = CropLifter()
    stage = LiftStage(lifter)
    for i in range(3):
        rgb = _image(i)
        people = [_person(1, (-0.5 + 0.1 * i, 0.0, 4.0)), _person(2, (0.6, 0.1, 5.0))]
        out, issues = stage.process(i * FRAME_NS, people, CAMERA, rgb=rgb)
        assert issues == [] and [p.track_id for p in out] == [1, 2]
        keypoints_px, confidence, crops = lifter.calls[-1]
        np.testing.assert_array_equal(crops, crop_people(rgb, keypoints_px, confidence, CAMERA.K, CROP))
    assert not np.array_equal(lifter.calls[0][2], lifter.calls[1][2]), "each frame's crops come from its own image"
    np.testing.assert_allclose(out[0].joints_cam_m, SKELETON_REL_M + [-0.3, 0.0, 4.0], atol=1e-4)


def test_without_a_usable_image_nobody_is_lifted_but_the_windows_go_on():
    lifter = CropLifter()
    stage = LiftStage(lifter)
    out, issues = stage.process(0, [_person(1, (0.0, 0.0, 4.0))], CAMERA)
    assert out == [] and [i.kind for i in issues] == ["image_missing"] and lifter.calls == []
    small = np.zeros((120, 160, 3), np.uint8)
    out, issues = stage.process(FRAME_NS, [_person(1, (0.1, 0.0, 4.0))], CAMERA, rgb=small)
    assert out == [] and [i.kind for i in issues] == ["image_size"]
    assert "160x120" in issues[0].message and "320x240" in issues[0].message
    out, issues = stage.process(2 * FRAME_NS, [_person(1, (0.2, 0.0, 4.0))], CAMERA, rgb=_image().astype(np.float32))
    assert out == [] and [i.kind for i in issues] == ["image_format"]
    out, issues = stage.process(3 * FRAME_NS, [_person(1, (0.3, 0.0, 4.0))], CAMERA, rgb=_image())
    assert issues == [] and len(out) == 1
    keypoints_px = lifter.calls[0][0][0]
    expected = [_person(1, (0.1 * i, 0.0, 4.0)).keypoints_px for i in range(4)]
    np.testing.assert_array_equal(keypoints_px[-4:], np.stack(expected))


def test_nobody_in_the_frame_needs_no_image():
    out, issues = LiftStage(CropLifter()).process(0, [], CAMERA)
    assert out == [] and issues == []


def test_keypoint_lifter_ignores_the_image():
    out, issues = LiftStage(KeypointLifter()).process(0, [_person(1, (0.0, 0.0, 4.0))], CAMERA, rgb=None)
    assert issues == [] and len(out) == 1
    out, issues = LiftStage(KeypointLifter()).process(0, [_person(1, (0.0, 0.0, 4.0))], CAMERA,
                                                      rgb=np.zeros((2, 2, 3), np.uint8))
    assert issues == [] and len(out) == 1
