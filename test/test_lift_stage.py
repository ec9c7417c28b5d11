"""LiftStage with a fixed stand-in lifter: placement onto the newest 2D, input issues, windows, root source."""

import numpy as np
import pytest

from pose3d_ros.camera import ROOT_ASSUMED_DEPTH, ROOT_FROM_KEYPOINTS, CameraModel
from pose3d_ros.layouts import H36M17
from pose3d_ros.people import Person2D
from pose3d_ros.pipeline import LiftStage

T = 9
FRAME_NS = 33_333_333
CAMERA = CameraModel(np.array([[1000.0, 0.0, 330.0], [0.0, 1100.0, 230.0], [0.0, 0.0, 1.0]]), 640, 480)
RNG = np.random.default_rng(0)
SKELETON_REL_M = RNG.normal(0.0, 0.25, size=(17, 3))
SKELETON_REL_M[0] = 0.0


class FixedLifter:
    """Returns the same root-relative skeleton for everyone and records what it was given."""

    receptive_field = T
    layout_name = "h36m17"
    crop_size = 0  # keypoints only

    def __init__(self):
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def lift(self, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel) -> np.ndarray:
        self.calls.append((keypoints_px.copy(), confidence.copy()))
        return np.repeat(SKELETON_REL_M[None], len(keypoints_px), axis=0).astype(np.float32)


def _person(track_id: int, root_m, camera: CameraModel = CAMERA) -> Person2D:
    keypoints_px = camera.project(SKELETON_REL_M + root_m).astype(np.float32)
    bbox_px = np.concatenate([keypoints_px.min(0), keypoints_px.max(0)])
    return Person2D(track_id, keypoints_px, np.full(17, 0.9, np.float32), 0.9, bbox_px)


def _kinds(issues) -> list[str]:
    return [i.kind for i in issues]


def test_joints_project_onto_the_newest_keypoints():
    stage = LiftStage(FixedLifter())
    for i in range(T + 3):
        roots_m = [np.array([-0.8 + 0.05 * i, 0.1, 4.0 + 0.02 * i]), np.array([0.7, -0.2, 6.0 - 0.05 * i])]
        people = [_person(1, roots_m[0]), _person(2, roots_m[1])]
        out, issues = stage.process(i * FRAME_NS, people, CAMERA)
        assert issues == []
        assert [p.track_id for p in out] == [1, 2]
        for person_3d, person_2d, root_m in zip(out, people, roots_m):
            np.testing.assert_allclose(person_3d.joints_cam_m, SKELETON_REL_M + root_m, atol=1e-4)
            np.testing.assert_allclose(CAMERA.project(person_3d.joints_cam_m.astype(np.float64)),
                                       person_2d.keypoints_px, atol=0.02)
            rot = person_3d.body_rotation
            np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-9)


@pytest.mark.parametrize("bad, kind", [((np.nan, 100.0), "nonfinite_keypoints"),
                                       ((np.inf, np.inf), "nonfinite_keypoints"),
                                       ((1e4, -1e4), "keypoints_outside_image")])
def test_bad_keypoints_are_reported_treated_as_missing_and_the_person_is_lifted(bad, kind):
    lifter = FixedLifter()
    stage = LiftStage(lifter)
    root_m = np.array([0.2, 0.0, 5.0])
    person = _person(4, root_m)
    person.keypoints_px[13] = bad
    out, issues = stage.process(0, [person], CAMERA)
    assert _kinds(issues) == [kind]
    assert "track 4" in issues[0].message
    assert len(out) == 1 and out[0].confidence[13] == 0.0
    np.testing.assert_allclose(out[0].joints_cam_m, SKELETON_REL_M + root_m, atol=1e-4)
    keypoints_px, confidence = lifter.calls[0]
    assert np.isfinite(keypoints_px).all()
    assert (confidence[0, :, 13] == 0.0).all()


def test_person_without_a_usable_keypoint_is_skipped():
    lifter = FixedLifter()
    stage = LiftStage(lifter)
    nowhere = _person(5, np.array([0.0, 0.0, 4.0]))
    nowhere.keypoints_px[:] = np.nan
    unseen = _person(6, np.array([0.0, 0.0, 4.0]))
    unseen.confidence[:] = 0.0
    out, issues = stage.process(0, [nowhere, _person(7, np.array([0.5, 0.0, 4.0])), unseen], CAMERA)
    assert [p.track_id for p in out] == [7]
    assert _kinds(issues) == ["nonfinite_keypoints", "no_valid_keypoints", "no_valid_keypoints"]
    assert lifter.calls[0][0].shape[0] == 1


def test_nobody_usable_calls_no_lifter():
    lifter = FixedLifter()
    person = _person(1, np.array([0.0, 0.0, 4.0]))
    person.confidence[:] = 0.0
    out, issues = LiftStage(lifter).process(0, [person], CAMERA)
    assert out == [] and _kinds(issues) == ["no_valid_keypoints"]
    assert lifter.calls == []


def test_wrong_shape_is_reported_and_skipped():
    person = _person(3, np.array([0.0, 0.0, 4.0]))
    person.keypoints_px = person.keypoints_px[:12]
    out, issues = LiftStage(FixedLifter()).process(0, [person], CAMERA)
    assert out == [] and _kinds(issues) == ["bad_shape"]
    assert "(12, 2)" in issues[0].message


def test_a_frame_slightly_out_of_order_is_skipped_and_reported():
    stage = LiftStage(FixedLifter())
    stage.process(2 * FRAME_NS, [_person(1, np.array([0.0, 0.0, 4.0]))], CAMERA)
    out, issues = stage.process(FRAME_NS, [_person(1, np.array([0.0, 0.0, 4.0])),
                                           _person(2, np.array([0.5, 0.0, 4.0]))], CAMERA)
    assert out == [] and _kinds(issues) == ["stamp_out_of_order"]
    assert "33.3 ms before the newest" in issues[0].message
    out, issues = stage.process(3 * FRAME_NS, [_person(1, np.array([0.0, 0.0, 4.0]))], CAMERA)
    assert [p.track_id for p in out] == [1] and issues == []


def test_time_jumping_back_starts_every_window_over_and_goes_on():
    lifter = FixedLifter()
    stage = LiftStage(lifter)
    loop = [_person(1, np.array([-0.5 + 0.1 * i, 0.0, 4.0])) for i in range(4)]
    for i, person in enumerate(loop):  # a bag plays 1.2 s at 2.5 Hz, then loops to its start
        stage.process(100 * 10**9 + i * 400_000_000, [person], CAMERA)
    out, issues = stage.process(100 * 10**9, [loop[0]], CAMERA)
    assert [p.track_id for p in out] == [1] and _kinds(issues) == ["time_jump_back"]
    assert "time jumped back" in issues[0].message
    keypoints_px, _ = lifter.calls[-1]
    np.testing.assert_array_equal(keypoints_px[0], np.broadcast_to(loop[0].keypoints_px, (T, 17, 2)))


def test_time_jumping_forward_by_minutes_starts_every_window_over():
    lifter = FixedLifter()
    stage = LiftStage(lifter)
    for i in range(4):
        stage.process(100 * 10**9 + i * FRAME_NS, [_person(1, np.array([-0.5 + 0.1 * i, 0.0, 4.0]))], CAMERA)
    later = _person(1, np.array([0.5, 0.0, 4.0]))
    out, issues = stage.process(400 * 10**9, [later], CAMERA)  # five minutes on: a driver restart, a paused bag
    assert [p.track_id for p in out] == [1] and issues == []
    keypoints_px, _ = lifter.calls[-1]  # the old frames are not part of the new window
    np.testing.assert_array_equal(keypoints_px[0], np.broadcast_to(later.keypoints_px, (T, 17, 2)))


def test_one_message_cannot_evict_a_window_it_reads_nor_repeat_a_track():
    stage = LiftStage(FixedLifter(), max_people=16)
    crowd = [_person(i, np.array([-2.0 + 0.25 * i, 0.0, 6.0])) for i in range(17)]
    for i, person in enumerate(crowd):
        person.score = 0.5 + 0.01 * i
    out, issues = stage.process(0, crowd, CAMERA)
    assert sorted(p.track_id for p in out) == list(range(1, 17)) and _kinds(issues) == ["too_many_people"]
    copies = [_person(7, np.array([0.0, 0.0, 4.0])) for _ in range(5000)]
    out, issues = stage.process(FRAME_NS, copies, CAMERA)
    assert [p.track_id for p in out] == [7] and _kinds(issues) == ["duplicate_track_id"]
    assert "4999 of 5000" in issues[0].message


def test_root_source_follows_calibration():
    nominal = CameraModel.nominal(640, 480)
    root_m = np.array([0.0, 0.0, 4.0])
    out, _ = LiftStage(FixedLifter()).process(0, [_person(1, root_m, nominal)], nominal)
    assert out[0].root_source == ROOT_ASSUMED_DEPTH
    np.testing.assert_allclose(out[0].joints_cam_m, SKELETON_REL_M + root_m, atol=1e-4)
    out, _ = LiftStage(FixedLifter()).process(0, [_person(1, root_m)], CAMERA)
    assert out[0].root_source == ROOT_FROM_KEYPOINTS


def test_lifter_gets_edge_padded_windows_of_its_receptive_field():
    lifter = FixedLifter()
    stage = LiftStage(lifter)
    first = [_person(1, np.array([-0.5 + 0.1 * i, 0.0, 4.0])) for i in range(3)]
    stage.process(0, [first[0]], CAMERA)
    stage.process(FRAME_NS, [first[1]], CAMERA)
    stage.process(2 * FRAME_NS, [first[2], _person(2, np.array([0.8, 0.0, 5.0]))], CAMERA)
    assert [call[0].shape for call in lifter.calls] == [(1, T, 17, 2), (1, T, 17, 2), (2, T, 17, 2)]
    keypoints_px, confidence = lifter.calls[-1]
    expected = [first[0].keypoints_px] * (T - 2) + [first[1].keypoints_px, first[2].keypoints_px]
    np.testing.assert_array_equal(keypoints_px[0], np.stack(expected))
    np.testing.assert_array_equal(keypoints_px[1], np.broadcast_to(keypoints_px[1, -1], (T, 17, 2)))
    assert confidence.shape == (2, T, 17)


class GrowingLifter(FixedLifter):
    """The fixed skeleton, 1% larger at every call: bone lengths that drift as a lifter's can."""

    def lift(self, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel) -> np.ndarray:
        scale = 1 + 0.01 * len(self.calls)
        return super().lift(keypoints_px, confidence, camera) * scale


def test_consistent_bones_keeps_a_tracks_first_second_of_bone_lengths_and_a_reset_forgets_them():
    bones = np.array(H36M17.bones)

    def lengths(person) -> np.ndarray:
        joints = person.joints_cam_m.astype(np.float64)
        return np.linalg.norm(joints[bones[:, 1]] - joints[bones[:, 0]], axis=1)

    stage = LiftStage(GrowingLifter(), consistent_bones=True)
    out = [stage.process(i * FRAME_NS, [_person(1, (0.0, 0.0, 4.0))], CAMERA)[0][0] for i in range(40)]
    np.testing.assert_allclose(lengths(out[39]), lengths(out[30]), rtol=1e-5)  # fixed after 30 frames
    assert lengths(out[39]).sum() < 1.2 * lengths(out[0]).sum(), "the lifter's 40% growth came through"
    plain = LiftStage(GrowingLifter())
    grown = [plain.process(i * FRAME_NS, [_person(1, (0.0, 0.0, 4.0))], CAMERA)[0][0] for i in range(40)]
    assert lengths(grown[39]).sum() > 1.3 * lengths(grown[0]).sum()
    stage.process(-10 * 10**9, [_person(1, (0.0, 0.0, 4.0))], CAMERA)  # a jump back in time
    assert stage.bones.lengths_m(1) is not None and len(stage.bones._tracks[1].samples) == 1
