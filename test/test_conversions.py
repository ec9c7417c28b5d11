"""Messages <-> numpy records, built in-process: 2D round trip, 3D skeletons, TF tree, markers, CameraInfo, Image."""

import numpy as np
import pytest
import transforms3d
from builtin_interfaces.msg import Time
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from pose3d_ros.bodies import BodyRegistry
from pose3d_ros.body import body_rotation
from pose3d_ros.camera import ROOT_FROM_KEYPOINTS, CameraModel
from pose3d_ros.image import ImageFormatError, rgb_to_image_fields
from pose3d_ros.layouts import COCO17, H36M17
from pose3d_ros.msg import Keypoint2D, Skeleton2D, Skeleton2DArray
from pose3d_ros.people import Person2D, Person3D
from pose3d_ros.ros import conversions

HEADER = Header(stamp=Time(sec=1_700_000_000, nanosec=123_456_789), frame_id="cam_optical")


def _person_2d(track_id: int) -> Person2D:
    rng = np.random.default_rng(track_id)
    keypoints_px = rng.uniform([0, 0], [640, 480], size=(17, 2)).astype(np.float32)
    confidence = rng.uniform(0, 1, size=17).astype(np.float32)
    return Person2D(track_id, keypoints_px, confidence, 0.75, np.array([10, 20, 300, 400], np.float32))


def _person_3d(track_id: int) -> Person3D:
    """A random skeleton with its body frame (a generic rotation, not the identity)."""
    rng = np.random.default_rng(100 + track_id)
    joints_m = rng.normal(0.0, 0.3, size=(17, 3)) + [0.0, 0.0, 4.0]
    confidence = rng.uniform(0.5, 1.0, size=17).astype(np.float32)
    rotation = body_rotation(joints_m[None])[0]
    return Person3D(track_id, joints_m.astype(np.float32), confidence, rotation, ROOT_FROM_KEYPOINTS)


def test_stamp_ns():
    assert conversions.stamp_ns(HEADER) == 1_700_000_000_123_456_789


def test_skeletons_2d_round_trip():
    people = [_person_2d(3), _person_2d(8)]
    msg = conversions.skeletons_2d_msg(HEADER, 640, 480, people)
    assert msg.header == HEADER and (msg.image_width, msg.image_height) == (640, 480)
    back, rejected = conversions.skeletons_2d_from_msg(msg)
    assert rejected == []
    for a, b in zip(people, back, strict=True):
        assert b.track_id == a.track_id and b.score == pytest.approx(a.score)
        np.testing.assert_array_equal(b.keypoints_px, a.keypoints_px)
        np.testing.assert_array_equal(b.confidence, a.confidence)
        np.testing.assert_array_equal(b.bbox_px, a.bbox_px)


def test_bbox_is_clipped_to_the_image():
    person = _person_2d(1)
    person.bbox_px = np.array([-30, 5, 700, 500], np.float32)
    roi = conversions.skeletons_2d_msg(HEADER, 640, 480, [person]).skeletons[0].roi
    assert (roi.x_offset, roi.y_offset, roi.x_offset + roi.width, roi.y_offset + roi.height) == (0, 5, 639, 479)


def test_other_layouts_are_rejected_by_name():
    coco = conversions.skeletons_2d_msg(HEADER, 640, 480, [_person_2d(2)], layout=COCO17)
    short = Skeleton2D(track_id=4, layout=H36M17.name, keypoints=[Keypoint2D()] * 12)
    msg = Skeleton2DArray(header=HEADER, skeletons=coco.skeletons + [short] + conversions.skeletons_2d_msg(
        HEADER, 640, 480, [_person_2d(5)]).skeletons)
    people, rejected = conversions.skeletons_2d_from_msg(msg)
    assert [p.track_id for p in people] == [5]
    assert len(rejected) == 2
    assert "track 2" in rejected[0] and "'coco17'" in rejected[0]
    assert "track 4" in rejected[1] and "12 keypoints" in rejected[1]


def test_skeletons_3d_keep_header_joints_and_body_pose():
    people = [_person_3d(1), _person_3d(6)]
    msg = conversions.skeletons_3d_msg(HEADER, people, lookahead_ns=1_500_000_000)
    assert msg.header == HEADER
    for person, skeleton in zip(people, msg.skeletons, strict=True):
        assert skeleton.track_id == person.track_id and skeleton.layout == "h36m17"
        assert skeleton.root_source == ROOT_FROM_KEYPOINTS
        assert (skeleton.lookahead.sec, skeleton.lookahead.nanosec) == (1, 500_000_000)
        joints = np.array([[j.x, j.y, j.z] for j in skeleton.joints])
        np.testing.assert_array_equal(joints, person.joints_cam_m)
        np.testing.assert_array_equal(np.array(skeleton.confidence, np.float32), person.confidence)
        pose = skeleton.body
        np.testing.assert_array_equal([pose.position.x, pose.position.y, pose.position.z], person.joints_cam_m[0])
        q = pose.orientation
        np.testing.assert_allclose(transforms3d.quaternions.quat2mat([q.w, q.x, q.y, q.z]), person.body_rotation,
                                   atol=1e-9)


def _pose_matrix(t) -> np.ndarray:
    r, p = t.transform.rotation, t.transform.translation
    pose = np.eye(4)
    pose[:3, :3] = transforms3d.quaternions.quat2mat([r.w, r.x, r.y, r.z])
    pose[:3, 3] = [p.x, p.y, p.z]
    return pose


def test_transforms_are_the_body_in_the_camera_and_rep155_links_down_the_urdf_tree():
    people = [_person_3d(2), _person_3d(9)]
    poses = BodyRegistry(seed=1).update(0, [(p.track_id, (p.joints_cam_m - p.joints_cam_m[0]) @ p.body_rotation)
                                            for p in people])
    tfs = conversions.transforms(HEADER, people, poses)
    by_child = {t.child_frame_id: t for t in tfs}
    assert len(by_child) == len(tfs) == 2 * len(poses[0].body.model.link_names)
    assert all(t.header.stamp == HEADER.stamp for t in tfs)
    for person, pose in zip(people, poses):
        suffix = f"_{pose.body.body_id}"
        body = by_child[f"body{suffix}"]
        assert body.header.frame_id == "cam_optical"
        np.testing.assert_allclose(_pose_matrix(body)[:3, 3], person.joints_cam_m[0], atol=1e-6)
        np.testing.assert_allclose(_pose_matrix(body)[:3, :3], person.body_rotation, atol=1e-6)
        for joint in pose.body.model.joints:  # each link in its URDF parent; composed, the forward kinematics
            t = by_child[joint.child + suffix]
            assert t.header.frame_id == joint.parent + suffix
            np.testing.assert_allclose(pose.links[joint.parent] @ _pose_matrix(t), pose.links[joint.child], atol=1e-6)


def test_markers_three_per_person_with_ids_and_lifetime():
    people = [_person_3d(0), _person_3d(4)]
    people[1].confidence[[3, 10]] = 0.1
    markers = conversions.skeleton_markers(HEADER, people, lifetime_s=1.25).markers
    assert [m.id for m in markers] == [0, 1, 2, 12, 13, 14]
    assert len({(m.ns, m.id) for m in markers}) == 6
    for m in markers:
        assert m.header == HEADER
        assert (m.lifetime.sec, m.lifetime.nanosec) == (1, 250_000_000)
    assert len(markers[0].points) == 17 and len(markers[3].points) == 15
    assert markers[5].text == "person 4"
    head = people[1].joints_cam_m[H36M17.index["head"]]
    label = markers[5].pose.position
    np.testing.assert_allclose([label.x, label.y, label.z], head + [0.0, -0.2, 0.0], atol=1e-6)
    bones_seen = [b for b in H36M17.bones if 3 not in b and 10 not in b]
    assert len(markers[4].points) == 2 * len(bones_seen)


def test_camera_info_round_trip():
    calibrated = CameraModel(np.array([[900.0, 0.0, 330.0], [0.0, 700.0, 250.0], [0.0, 0.0, 1.0]]), 640, 480)
    msg = conversions.camera_info_msg(HEADER, calibrated)
    assert msg.header == HEADER and (msg.width, msg.height) == (640, 480)
    np.testing.assert_array_equal(np.reshape(msg.p, (3, 4))[:, :3], calibrated.K)
    back = conversions.camera_info_to_model(msg)
    assert back.calibrated
    np.testing.assert_array_equal(back.K, calibrated.K)


def test_uncalibrated_camera_publishes_all_zero_k():
    nominal = CameraModel.nominal(640, 480)
    msg = conversions.camera_info_msg(HEADER, nominal)
    assert not any(msg.k) and not any(msg.p)
    back = conversions.camera_info_to_model(msg)
    assert not back.calibrated
    np.testing.assert_array_equal(back.K, nominal.K)


def test_image_msg_to_rgb():
    rgb = np.random.default_rng(0).integers(0, 256, size=(4, 6, 3), dtype=np.uint8)
    encoding, step, data = rgb_to_image_fields(rgb, "bgr8")
    msg = Image(height=4, width=6, encoding=encoding, step=step, data=data)
    np.testing.assert_array_equal(conversions.image_msg_to_rgb(msg), rgb)


@pytest.mark.parametrize("fields, named", [
    (dict(encoding="yuv422", step=18, data=bytes(72)), "'yuv422'"),
    (dict(encoding="rgb8", step=18, data=bytes(70)), "70 bytes"),
    (dict(encoding="rgb8", step=10, data=bytes(40)), "step 10"),
])
def test_image_msg_errors_name_the_bad_value(fields, named):
    with pytest.raises(ImageFormatError) as err:
        conversions.image_msg_to_rgb(Image(height=4, width=6, **fields))
    assert named in str(err.value)
