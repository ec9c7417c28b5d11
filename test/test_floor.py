"""Floor-constrained placement: the floor's description, known-answer geometry, the fallbacks, LiftStage and the
evaluation's floors."""

import math

import numpy as np
import pytest

from pose3d_ros.camera import ROOT_ASSUMED_DEPTH, ROOT_FROM_FLOOR, ROOT_FROM_KEYPOINTS, CameraModel, place_root
from pose3d_ros.eval.lifter import lift_sequence
from pose3d_ros.eval.pose2sim import Views
from pose3d_ros.floor import ANKLE_HEIGHT_M, Floor, TrackScales, place_on_floor
from pose3d_ros.layouts import H36M17
from pose3d_ros.people import Person2D
from pose3d_ros.pipeline import LiftStage

CAMERA = CameraModel(np.array([[1000.0, 0.0, 640.0], [0.0, 1000.0, 360.0], [0.0, 0.0, 1.0]]), 1280, 720)
A = ANKLE_HEIGHT_M
# A person standing in a floor frame (x forward, y left, z up), the floor point below the pelvis at the origin.
STANDING = {
    "pelvis": (0, 0, 0.95), "right_hip": (0, -0.1, 0.95), "right_knee": (0.02, -0.1, 0.52),
    "right_ankle": (0, -0.1, A), "left_hip": (0, 0.1, 0.95), "left_knee": (0.02, 0.1, 0.52),
    "left_ankle": (0, 0.1, A), "spine": (0, 0, 1.18), "thorax": (0, 0, 1.42), "neck_nose": (0.05, 0, 1.58),
    "head": (0, 0, 1.72), "left_shoulder": (0, 0.18, 1.42), "left_elbow": (0, 0.2, 1.14),
    "left_wrist": (0.05, 0.2, 0.88), "right_shoulder": (0, -0.18, 1.42), "right_elbow": (0, -0.2, 1.14),
    "right_wrist": (0.05, -0.2, 0.88),
}
# Mid-stride: the left foot swings 0.25 m above the floor.
WALKING = {**STANDING, "left_knee": (0.2, 0.1, 0.58), "left_ankle": (0.05, 0.1, 0.36)}


def _body(pose: dict, at_m=(0.0, 0.0), lift_m: float = 0.0, yaw_deg: float = 30.0) -> np.ndarray:
    """(17, 3) floor-frame joints of ``pose`` turned by ``yaw_deg``, standing at ``at_m``, raised ``lift_m``."""
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    joints = np.array([pose[name] for name in H36M17.names], np.float64)
    joints[:, :2] = joints[:, :2] @ np.array([[c, s], [-s, c]]) + at_m
    joints[:, 2] += lift_m
    return joints


def _pose(height_m: float, pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """floor_T_camera of a camera at (0, 0, height_m) looking along +x, pitched down and rolled."""
    level = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])  # columns: camera x, y, z in the floor
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    pitch = np.array([[1, 0, 0], [0, math.cos(p), math.sin(p)], [0, -math.sin(p), math.cos(p)]])
    roll = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    pose = np.eye(4)
    pose[:3, :3] = level @ pitch @ roll
    pose[2, 3] = height_m
    return pose


def _seen(floor_joints: np.ndarray, pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame joints (17, 3) and their pixels (17, 2)."""
    joints_cam_m = (floor_joints - pose[:3, 3]) @ pose[:3, :3]
    return joints_cam_m, CAMERA.project(joints_cam_m)


def _place(joints_cam_m, keypoints_px, lifted_size=1.0, confidence=None, floor=None, pose=None):
    joints_rel_m = lifted_size * (joints_cam_m - joints_cam_m[0])
    confidence = np.full(17, 0.9) if confidence is None else confidence
    floor = floor or Floor.from_camera_pose(pose)
    return place_on_floor(joints_rel_m[None], keypoints_px[None], confidence[None], CAMERA, floor)


def test_floor_from_height_and_pitch_is_the_floor_below_that_camera_pose():
    level = Floor.from_height_pitch(1.2, 0.0)
    np.testing.assert_allclose(level.normal_cam, [0.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(Floor.from_height_pitch(1.2, 90.0).normal_cam, [0.0, 0.0, -1.0], atol=1e-12)
    for pitch, roll in ((20.0, 0.0), (35.0, -7.0), (-10.0, 4.0)):
        floor = Floor.from_height_pitch(1.4, pitch, roll)
        pose = _pose(1.4, pitch, roll)
        np.testing.assert_allclose(floor.normal_cam, Floor.from_camera_pose(pose).normal_cam, atol=1e-12)
        floor_points = np.array([[3.0, 1.0, 0.0], [6.0, -2.0, 0.0], [2.0, 0.0, 0.5]])
        np.testing.assert_allclose(floor.height_m((floor_points - pose[:3, 3]) @ pose[:3, :3]), [0.0, 0.0, 0.5],
                                   atol=1e-12)


def test_bad_floors_are_refused_with_the_value():
    with pytest.raises(ValueError, match="camera height 0.0 m"):
        Floor.from_height_pitch(0.0, 10.0)
    with pytest.raises(ValueError, match="pitch nan deg"):
        Floor.from_height_pitch(1.0, math.nan)
    skewed = _pose(1.0, 10.0)
    skewed[:3, 0] *= 2.0
    with pytest.raises(ValueError, match="is not a rotation matrix"):
        Floor.from_camera_pose(skewed)
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        Floor.from_camera_pose(np.eye(3))
    with pytest.raises(ValueError, match="floor normal"):
        Floor(np.zeros(3), 1.0)


@pytest.mark.parametrize("pose_name, pose", [("standing", STANDING), ("walking", WALKING)])
@pytest.mark.parametrize("lifted_size", [0.85, 1.0, 1.2])
def test_size_and_distance_come_from_the_floor(pose_name, pose, lifted_size):
    """A lifted skeleton 15% too small (or 20% too big) is placed within millimetres and sized within 1%."""
    camera_pose = _pose(1.3, 15.0, 3.0)
    joints_cam_m, keypoints_px = _seen(_body(pose, at_m=(4.5, 0.8)), camera_pose)
    root_m, scale, on_floor = _place(joints_cam_m, keypoints_px, lifted_size, pose=camera_pose)
    assert on_floor[0]
    np.testing.assert_allclose(root_m[0], joints_cam_m[0], atol=0.003)
    assert abs(scale[0] * lifted_size - 1.0) < 0.01


def test_noisy_keypoints_and_shape_still_give_the_distance_within_a_few_percent():
    rng = np.random.default_rng(3)
    camera_pose = _pose(1.6, 20.0)
    joints_cam_m, keypoints_px = _seen(_body(WALKING, at_m=(4.0, -0.5)), camera_pose)
    lifted = joints_cam_m + rng.normal(0.0, 0.02, joints_cam_m.shape)
    root_m, scale, on_floor = _place(lifted, keypoints_px + rng.normal(0.0, 2.0, keypoints_px.shape), 0.9,
                                     pose=camera_pose)
    assert on_floor[0]
    assert np.linalg.norm(root_m[0] - joints_cam_m[0]) < 0.04 * np.linalg.norm(joints_cam_m[0])
    assert abs(scale[0] * 0.9 - 1.0) < 0.04


def _fallback(joints_cam_m, keypoints_px, confidence=None, **kwargs):
    root_m, scale, on_floor = _place(joints_cam_m, keypoints_px, confidence=confidence, **kwargs)
    assert not on_floor[0] and scale[0] == 1.0 and np.isfinite(root_m).all()
    confidence = np.full(17, 0.9) if confidence is None else confidence
    np.testing.assert_allclose(root_m, place_root((joints_cam_m - joints_cam_m[0])[None], keypoints_px[None],
                                                  confidence[None], CAMERA))


def test_hidden_feet_fall_back_to_the_keypoints():
    camera_pose = _pose(1.3, 15.0)
    joints_cam_m, keypoints_px = _seen(_body(WALKING, at_m=(4.0, 0.0)), camera_pose)
    confidence = np.full(17, 0.9)
    confidence[H36M17.index["right_ankle"]] = 0.2  # the standing foot, hidden; the swinging one is seen
    _fallback(joints_cam_m, keypoints_px, confidence, pose=camera_pose)


@pytest.mark.parametrize("pose", [STANDING, WALKING])
def test_a_person_in_the_air_is_not_put_on_the_floor(pose):
    camera_pose = _pose(1.2, 12.0)
    joints_cam_m, keypoints_px = _seen(_body(pose, at_m=(4.0, 0.3), lift_m=0.35), camera_pose)
    _fallback(joints_cam_m, keypoints_px, pose=camera_pose)


def test_hands_on_the_floor_are_no_feet_on_it():
    camera_pose = _pose(1.3, 15.0)
    handstand = _body(STANDING, at_m=(4.0, 0.0))
    handstand[:, 2] = 1.85 - handstand[:, 2]
    joints_cam_m, keypoints_px = _seen(handstand, camera_pose)
    _fallback(joints_cam_m, keypoints_px, pose=camera_pose)


@pytest.mark.parametrize("height_m, distance_m", [(1.0, 25.0), (0.6, 4.0), (0.05, 4.0), (-0.5, 4.0)])
def test_grazing_rays_and_a_camera_at_or_below_the_feet_fall_back(height_m, distance_m):
    """Rays to the feet nearly parallel to the floor, a camera nearly at ankle height or below the floor."""
    camera_pose = _pose(height_m, 0.0)
    joints_cam_m, keypoints_px = _seen(_body(STANDING, at_m=(distance_m, 0.0)), camera_pose)
    _fallback(joints_cam_m, keypoints_px, pose=camera_pose)


def test_non_finite_input_gives_finite_output():
    camera_pose = _pose(1.3, 15.0)
    joints_cam_m, keypoints_px = _seen(_body(STANDING, at_m=(4.0, 0.0)), camera_pose)
    floor = Floor.from_camera_pose(camera_pose)
    joints_rel_m = np.repeat((joints_cam_m - joints_cam_m[0])[None], 4, axis=0)
    keypoints = np.repeat(keypoints_px[None], 4, axis=0)
    confidence = np.full((4, 17), 0.9)
    joints_rel_m[0, H36M17.index["right_ankle"]] = np.nan
    joints_rel_m[1] = np.nan
    keypoints[2, H36M17.index["left_ankle"]] = np.inf
    confidence[3] = np.nan
    root_m, scale, on_floor = place_on_floor(joints_rel_m, keypoints, confidence, CAMERA, floor)
    assert np.isfinite(root_m).all() and np.isfinite(scale).all()
    assert on_floor.tolist() == [True, False, True, False]
    np.testing.assert_allclose(root_m[[0, 2]], joints_cam_m[[0, 0]], atol=0.003)


class ScaledLifter:
    """Returns each person's true root-relative skeleton, 15% too small."""

    receptive_field = 3
    layout_name = "h36m17"
    crop_size = 0

    def __init__(self, joints_rel_m: list[np.ndarray]):
        self.joints_rel_m = np.stack(joints_rel_m) * 0.85

    def lift(self, keypoints_px, confidence, camera):
        return self.joints_rel_m[:len(keypoints_px)].astype(np.float32)


def test_lift_stage_places_people_on_the_floor_and_says_so():
    camera_pose = _pose(1.5, 18.0)
    floor = Floor.from_camera_pose(camera_pose)
    walking, _ = _seen(_body(WALKING, at_m=(5.0, 1.0)), camera_pose)
    jumping, _ = _seen(_body(STANDING, at_m=(4.0, -1.0), lift_m=0.4), camera_pose)
    people = [Person2D(i, CAMERA.project(j).astype(np.float32), np.full(17, 0.9, np.float32), 0.9, np.zeros(4))
              for i, j in enumerate((walking, jumping))]
    stage = LiftStage(ScaledLifter([walking - walking[0], jumping - jumping[0]]))
    out, issues = stage.process(0, people, CAMERA, floor=floor)
    assert issues == [] and [p.root_source for p in out] == [ROOT_FROM_FLOOR, ROOT_FROM_KEYPOINTS]
    np.testing.assert_allclose(out[0].joints_cam_m, walking, atol=0.005)
    np.testing.assert_allclose(out[1].joints_cam_m, place_root(0.85 * (jumping - jumping[0])[None],
                                                               people[1].keypoints_px[None].astype(np.float64),
                                                               np.full((1, 17), 0.9), CAMERA)[0]
                               + 0.85 * (jumping - jumping[0]), atol=1e-4)
    nominal = CameraModel.nominal(CAMERA.width, CAMERA.height)
    out, _ = LiftStage(ScaledLifter([walking - walking[0]])).process(0, people[:1], nominal, floor=floor)
    assert out[0].root_source == ROOT_ASSUMED_DEPTH, "a floor below an uncalibrated camera's rays is not used"


def test_a_calibrated_view_knows_its_floor_and_the_evaluation_streams_it():
    camera_pose = _pose(1.5, 18.0, 2.0)
    rotation = camera_pose[:3, :3].T  # world -> camera
    views = Views(("cam",), CAMERA.K[None], rotation[None], (-rotation @ camera_pose[:3, 3])[None],
                  np.array([[CAMERA.width, CAMERA.height]]), 30.0)
    floor = views.floor(0)
    np.testing.assert_allclose(floor.normal_cam, Floor.from_camera_pose(camera_pose).normal_cam, atol=1e-12)
    assert floor.camera_height_m == pytest.approx(1.5)
    walk = [_seen(_body(WALKING, at_m=(5.0 - 0.04 * f, 0.5)), camera_pose) for f in range(6)]
    keypoints_px = np.stack([k for _, k in walk]).astype(np.float32)
    lifter = ScaledLifter([walk[0][0] - walk[0][0][0]])
    joints, sources = lift_sequence(lifter, keypoints_px, np.full((6, 17), 0.9, np.float32), CAMERA, 30.0,
                                    floor=floor)
    assert (sources == ROOT_FROM_FLOOR).all()
    np.testing.assert_allclose(joints, np.stack([j for j, _ in walk]), atol=0.005)
    joints, sources = lift_sequence(lifter, keypoints_px, np.full((6, 17), 0.9, np.float32), CAMERA, 30.0)
    assert (sources == ROOT_FROM_KEYPOINTS).all()


def test_a_track_size_is_the_recent_median_and_moves_slowly():
    scales = TrackScales(window_s=1.0, max_rate_per_s=0.03)
    ms = 1_000_000
    assert np.isnan(scales.update([1], 0, np.array([1.3]), np.array([False]))[0]), "never on the floor: no size"
    assert scales.update([1], 10 * ms, np.array([1.2]), np.array([True]))[0] == pytest.approx(1.2)
    size = [scales.update([1], f * 100 * ms, np.array([1.0 if f % 4 else 1.8]), np.array([True]))[0]
            for f in range(1, 21)]
    assert np.all(np.abs(np.diff(np.log(size))) <= 0.003 + 1e-12), "at most 3%/s"
    assert size[-1] == pytest.approx(1.2 * math.exp(-0.0027 - 19 * 0.003), rel=1e-6), "to the median, 1.0"
    assert scales.update([1, 2], 2100 * ms, np.array([1.0, 0.9]), np.array([False, True])).tolist() == \
        pytest.approx([size[-1] * math.exp(-0.003), 0.9])
    scales.keep({2})
    assert np.isnan(scales.update([1], 2200 * ms, np.ones(1), np.zeros(1, bool))[0])
    scales.reset()
    assert np.isnan(scales.update([2], 2300 * ms, np.ones(1), np.zeros(1, bool))[0])


def test_a_track_keeps_its_floor_size_in_the_air_and_without_a_floor():
    camera_pose = _pose(1.5, 18.0)
    floor = Floor.from_camera_pose(camera_pose)
    frames = [_body(WALKING, at_m=(5.0, 0.0))] * 4 + [_body(STANDING, at_m=(5.0, 0.0), lift_m=0.35)] * 4
    seen = [_seen(body, camera_pose)[0] for body in frames]
    stage = LiftStage(ScaledLifter([seen[0] - seen[0][0]]))
    for f, joints_cam_m in enumerate(seen):
        stage.lifter.joints_rel_m = 0.85 * (joints_cam_m - joints_cam_m[0])[None]
        person = Person2D(1, CAMERA.project(joints_cam_m).astype(np.float32), np.full(17, 0.9, np.float32), 0.9,
                          np.zeros(4))
        out, _ = stage.process(f * 33_333_333, [person], CAMERA, floor=floor if f < 6 else None)
        assert out[0].root_source == ROOT_FROM_FLOOR
        np.testing.assert_allclose(out[0].joints_cam_m, joints_cam_m, atol=0.005)
