"""ROS4HRI (REP-155) output: message conversions, and over real DDS on the demo video the /humans/bodies tree, the
official type hashes, URDF + joint states forward kinematics against our /tf, and the example client."""

from __future__ import annotations

import importlib.util
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import transforms3d
from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D, Skeleton2D
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_msgs.msg import Header, String
from test_hri_msgs import official_type_hashes
from test_pipeline_ros import PROBE_RESULTS, _play, _stamp
from urdf_reader import read_urdf, urdf_forward_kinematics

from conftest import Sender, person_px, skeletons_msg, wait_for
from pose3d_ros.layouts import H36M17, OPENPOSE18
from pose3d_ros.people import Person2D
from pose3d_ros.ros.hri import DESCRIPTION, cropped_msg, roi_msg, skeleton2d_msg
from pose3d_ros.ros.lifter_node import Lifter

EXAMPLE = Path(__file__).parents[1] / "examples" / "nearest_person.py"
BODY_TOPICS = {"roi": NormalizedRegionOfInterest2D, "skeleton2d": Skeleton2D, "joint_states": JointState,
               "urdf": String}


def _person(keypoints_px: np.ndarray) -> Person2D:
    return Person2D(3, keypoints_px.astype(np.float32), np.ones(17, np.float32), 0.9,
                    np.array([100, 50, 300, 450], np.float32))


def test_roi_and_skeleton2d_are_normalised_in_openpose_order():
    keypoints = np.stack([np.arange(17) * 10.0 + 5, np.arange(17) * 20.0 + 7], axis=1)
    person = _person(keypoints)
    person.confidence[H36M17.index["left_wrist"]] = 0.25
    person.keypoints_px[H36M17.index["right_ankle"]] = np.nan
    roi = roi_msg(Header(), person, 640, 480)
    np.testing.assert_allclose([roi.xmin, roi.ymin, roi.xmax, roi.ymax, roi.c],
                               [100 / 640, 50 / 480, 300 / 640, 450 / 480, 0.9], rtol=1e-6)
    points = skeleton2d_msg(Header(), person, 640, 480).skeleton
    assert len(points) == 18
    by_name = dict(zip(OPENPOSE18.names, points))
    for openpose, h36m in (("nose", "neck_nose"), ("neck", "thorax"), ("right_knee", "right_knee")):
        x, y = keypoints[H36M17.index[h36m]]
        np.testing.assert_allclose([by_name[openpose].x, by_name[openpose].y], [x / 640, y / 480], rtol=1e-6)
    assert by_name["left_wrist"].c == 0.25 and by_name["right_ankle"].c == 0.0, "missing joints have c = 0"
    assert all(by_name[n].c == 0.0 for n in ("left_eye", "right_eye", "left_ear", "right_ear"))


def test_cropped_is_the_box_of_the_image_and_nothing_for_an_empty_box():
    rgb = np.arange(480 * 640 * 3, dtype=np.uint32).reshape(480, 640, 3).astype(np.uint8)
    person = _person(np.zeros((17, 2)))
    msg = cropped_msg(Header(), person, rgb)
    assert (msg.width, msg.height, msg.encoding) == (200, 400, "rgb8")
    np.testing.assert_array_equal(np.frombuffer(bytes(msg.data), np.uint8).reshape(400, 200, 3), rgb[50:450, 100:300])
    person.bbox_px = np.array([700, 10, 800, 20], np.float32)  # right of the image
    assert cropped_msg(Header(), person, rgb) is None


def test_a_body_that_left_loses_its_topics_after_the_grace_period(ros_graph):
    lifter = ros_graph.add(Lifter, parameter_overrides=[Parameter("hri_grace_s", value=0.5)])
    sender = ros_graph.add(Sender)
    hri = ros_graph.add(HriProbe)
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1 and hri.count_publishers(
        "/humans/bodies/tracked") >= 1, what="the lifter")
    for tenth in range(3):
        sender.skeletons.publish(skeletons_msg(1, person_px(), nanosec=tenth * 100_000_000))
        time.sleep(0.1)
    wait_for(lambda: any(m.ids for m in hri.tracked), what="a tracked body")
    (body_id,) = {i for m in hri.tracked for i in m.ids}
    topic = f"/humans/bodies/{body_id}/joint_states"
    assert hri.count_publishers(topic) == 1 and lifter.has_parameter(f"human_description_{body_id}")
    empty = skeletons_msg(1, person_px(), nanosec=500_000_000)
    empty.skeletons = []
    sender.skeletons.publish(empty)  # gone 0.3 s after it was last seen: within the grace period
    wait_for(lambda: hri.tracked[-1].ids == [], what="an empty tracked list")
    assert hri.count_publishers(topic) == 1
    empty.header.stamp.sec = 2  # 1.8 s after
    sender.skeletons.publish(empty)
    wait_for(lambda: hri.count_publishers(topic) == 0, what="the gone body's publishers to be destroyed")
    assert not lifter.has_parameter(f"human_description_{body_id}")


def test_a_track_keeps_its_body_across_frames_a_busy_detector_skipped(ros_graph):
    """A CPU-starved detector skips frames but keeps its track ids: the body follows the track, not the window."""
    ros_graph.add(Lifter, parameter_overrides=[Parameter("max_gap_s", value=0.5), Parameter("hri_grace_s", value=3.0)])
    sender = ros_graph.add(Sender)
    hri = ros_graph.add(HriProbe)
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1 and hri.count_publishers(
        "/humans/bodies/tracked") >= 1, what="the lifter")
    ids = []
    for sec in (1, 3, 7):  # 2 s later: past max_gap_s, within the grace period; 4 s later: past it
        sender.skeletons.publish(skeletons_msg(sec, person_px()))
        wait_for(lambda: len(hri.tracked) > len(ids), what=f"the frame at {sec} s")
        ids.append(hri.tracked[-1].ids)
    assert ids[0] == ids[1] and len(ids[0]) == 1, f"tracked ids {ids}: a skipped second gave a new body"
    assert len(ids[2]) == 1 and ids[2] != ids[0], f"tracked ids {ids}: back after the grace period, same body"


def test_body_topics_are_built_only_for_their_subscribers(ros_graph, monkeypatch):
    """Every body's topics exist, but a frame's joint states, box and 2D skeleton are made only where someone reads."""
    import pose3d_ros.ros.hri as hri_module

    built = defaultdict(int)
    for name in ("joint_state_msg", "roi_msg", "skeleton2d_msg"):
        make = getattr(hri_module, name)
        monkeypatch.setattr(hri_module, name, lambda *a, _make=make, _name=name: built.__setitem__(
            _name, built[_name] + 1) or _make(*a))
    ros_graph.add(Lifter)
    sender = ros_graph.add(Sender)
    tracked = ros_graph.add(HriProbe, subscribe_bodies=False)
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1 and tracked.count_publishers(
        "/humans/bodies/tracked") >= 1, what="the lifter")
    sender.skeletons.publish(skeletons_msg(1, person_px()))
    wait_for(lambda: tracked.tracked, what="a tracked body")
    (body_id,) = tracked.tracked[-1].ids
    assert all(tracked.count_publishers(f"/humans/bodies/{body_id}/{t}") == 1 for t in BODY_TOPICS)
    assert not built, f"built {dict(built)} with nobody subscribed"
    joint_states = []
    tracked.create_subscription(JointState, f"/humans/bodies/{body_id}/joint_states", joint_states.append,
                                PROBE_RESULTS)
    wait_for(lambda: tracked.count_subscribers(f"/humans/bodies/{body_id}/joint_states") >= 1, what="the subscriber")
    time.sleep(0.2)  # the lifter's publisher matches it too
    sender.skeletons.publish(skeletons_msg(2, person_px()))
    wait_for(lambda: joint_states, what="joint states for the new subscriber")
    assert dict(built) == {"joint_state_msg": 1}, f"built {dict(built)}: only the read topic should be"


class HriProbe(Node):
    """Follows /humans/bodies/tracked and subscribes each new body's topics as it appears, as an HRI client does."""

    def __init__(self, subscribe_bodies: bool = True, **kwargs):
        super().__init__("hri_probe", **kwargs)
        self.subscribe_bodies = subscribe_bodies
        self.tracked: list[IdsList] = []
        self.got: dict[tuple[str, str], list] = defaultdict(list)
        self.create_subscription(IdsList, "/humans/bodies/tracked", self._on_tracked, PROBE_RESULTS)

    def _on_tracked(self, msg: IdsList) -> None:
        self.tracked.append(msg)
        for body_id in msg.ids if self.subscribe_bodies else ():
            if (body_id, "urdf") in self.got:
                continue
            for name, cls in BODY_TOPICS.items():
                self.create_subscription(cls, f"/humans/bodies/{body_id}/{name}", self.got[(body_id, name)].append,
                                         DESCRIPTION if name == "urdf" else PROBE_RESULTS)


def _tf_links(transforms: list, body_id: str) -> dict[str, np.ndarray]:
    """Pose (4, 4) in ``body_<id>`` of every frame of one stamp's /tf that hangs below it."""
    parent = {}
    for t in transforms:
        r, p = t.transform.rotation, t.transform.translation
        pose = np.eye(4)
        pose[:3, :3] = transforms3d.quaternions.quat2mat([r.w, r.x, r.y, r.z])
        pose[:3, 3] = [p.x, p.y, p.z]
        parent[t.child_frame_id] = (t.header.frame_id, pose)
    root, out = f"body_{body_id}", {}
    for frame in parent:
        pose, link = np.eye(4), frame
        while link in parent and link != root:
            link, step = parent[link]
            pose = step @ pose
        if link == root:
            out[frame] = pose
    return out


def _example_node_class():
    spec = importlib.util.spec_from_file_location("nearest_person", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.NearestPerson


def test_the_rep155_tree_on_the_demo_video(ros_graph, tmp_path):
    hri = ros_graph.add(HriProbe)
    example = ros_graph.add(_example_node_class())
    got, lifter = _play(ros_graph)
    image_stamps = {_stamp(m) for m in got["camera_info"]}
    body_ids = {s.body_id for m in got["skeletons_3d"] for s in m.skeletons}
    tracked_ids = {i for m in hri.tracked for i in m.ids}
    assert tracked_ids == body_ids and len(hri.tracked) >= len(got["skeletons_3d"]) - 2
    assert {_stamp(m) for m in hri.tracked} <= image_stamps
    # Official types, by hash, on the graph.
    official = official_type_hashes(tmp_path)
    some_body = next(iter(body_ids))
    for topic, name in (("/humans/bodies/tracked", "IdsList"), (f"/humans/bodies/{some_body}/roi",
                        "NormalizedRegionOfInterest2D"), (f"/humans/bodies/{some_body}/skeleton2d", "Skeleton2D")):
        (info,) = lifter.get_publishers_info_by_topic(topic)
        assert str(info.topic_type_hash) == official[f"hri_msgs/msg/{name}"], topic
        print(f"\n{topic}: {info.topic_type_hash} on the graph, the official hri_msgs/msg/{name} hashes the same")
    # Per body: the right types and stamps; joint states + the URDF give our /tf links.
    tf_by_stamp = defaultdict(list)
    for m in got["/tf"]:
        for t in m.transforms:
            tf_by_stamp[_stamp(t)].append(t)
    worst_mm, compared = 0.0, 0
    for body_id in body_ids:
        rois, states, urdfs = (hri.got[(body_id, k)] for k in ("roi", "joint_states", "urdf"))
        assert urdfs and states and rois, f"body {body_id}: no urdf, joint_states or roi received"
        assert {_stamp(m) for m in rois + states + hri.got[(body_id, "skeleton2d")]} <= image_stamps
        assert all(0 <= r.xmin < r.xmax <= 1 and 0 <= r.ymin < r.ymax <= 1 for r in rois)
        links, joints = read_urdf(urdfs[-1].data)
        assert all(name.endswith(f"_{body_id}") for name in links + list(joints))
        if len(states) < 15:
            continue  # its model may still change (fixed after its first 10 frames): not the URDF received last
        for state in states[-5:]:
            assert set(state.name) <= set(joints) and len(state.name) == 20
            urdf_links = urdf_forward_kinematics(links, joints, dict(zip(state.name, state.position)))
            ours = _tf_links(tf_by_stamp[_stamp(state)], body_id)
            assert set(ours) == set(urdf_links)
            for link, pose in ours.items():
                worst_mm = max(worst_mm, 1e3 * float(np.linalg.norm(pose[:3, 3] - urdf_links[link][:3, 3])))
            compared += 1
    print(f"\nURDF + joint_states forward kinematics vs /tf: {compared} frames of {len(body_ids)} bodies, "
          f"max link position difference {worst_mm:.1e} mm")
    assert compared and worst_mm <= 1.0
    # The example client follows everyone and names the nearest.
    assert example.latest is not None and example.latest["id"] in body_ids
    assert 1.0 < example.latest["distance_m"] < 20.0
