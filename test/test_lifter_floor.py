"""The lifter sizes and places people from the floor, over real DDS: the camera's pose from /tf_static, as a
robot's TF tree gives it (floor_frame), or a fixed mount's height and pitch."""

from __future__ import annotations

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.parameter import Parameter
from tf2_msgs.msg import TFMessage

from conftest import STANDING_M, Sender, make_probe, skeletons_msg, wait_for
from pose3d_ros.camera import ROOT_FROM_FLOOR, CameraModel
from pose3d_ros.msg import Skeleton3DArray
from pose3d_ros.ros import qos
from pose3d_ros.ros.conversions import camera_info_msg
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.ros.tf_tree import TF_STATIC, TfTree

CAMERA = CameraModel(np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), 640, 480)
DISTANCE_M = 3.0
# The standing person's ankles are 0.9 m below the pelvis; the pelvis at the camera's height puts them at the
# floor's ankle height (floor.ANKLE_HEIGHT_M, 0.11 m) under a camera 1.01 m up, looking level.
CAMERA_HEIGHT_M = 1.01


class StaticTf(Node):
    def __init__(self, **kwargs):
        super().__init__("static_tf", **kwargs)
        self.pub = self.create_publisher(TFMessage, "/tf_static", TF_STATIC)

    def mount(self) -> None:
        """camera_optical_frame (x right, y down, z forward) on a base_footprint (x forward, y left, z up)."""
        t = TransformStamped()
        t.header.frame_id, t.child_frame_id = "base_footprint", "camera_optical_frame"
        t.transform.translation.z = CAMERA_HEIGHT_M
        r = t.transform.rotation  # columns of the rotation: optical axes in the base frame
        r.w, r.x, r.y, r.z = 0.5, -0.5, 0.5, -0.5
        self.pub.publish(TFMessage(transforms=[t]))


def _lifter(ros_graph, *overrides: Parameter):
    lifter = ros_graph.add(Lifter, parameter_overrides=list(overrides))
    sender, tf = ros_graph.add(Sender), ros_graph.add(StaticTf)
    probe = ros_graph.add(make_probe({"skeletons_3d": (Skeleton3DArray, qos.RESULTS),
                                      "/diagnostics": (DiagnosticArray, qos.RESULTS)}))
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1 and sender.infos.get_subscription_count() >= 1
             and probe.count_publishers("skeletons_3d") >= 1, what="the lifter")
    sender.infos.publish(camera_info_msg(skeletons_msg(1, np.zeros((17, 2))).header, CAMERA))
    wait_for(lambda: lifter._camera is not None, what="the CameraInfo")
    return lifter, sender, tf, probe


def _stream(sender, probe, first_s: int, frames: int) -> list:
    person = CAMERA.project(STANDING_M + [0.0, 0.0, DISTANCE_M])
    start = len(probe.got["skeletons_3d"])
    for n in range(frames):
        sender.skeletons.publish(skeletons_msg(first_s, person, nanosec=n * 33_000_000))
        wait_for(lambda k=n: len(probe.got["skeletons_3d"]) > start + k, what=f"3D output of frame {n}")
    return [m.skeletons[0] for m in probe.got["skeletons_3d"][start:]]


@pytest.mark.parametrize("mount", ["floor_frame", "camera_height_m"])
def test_a_standing_person_is_sized_and_placed_from_the_floor(ros_graph, mount):
    overrides = ([Parameter("floor_frame", value="base_footprint")] if mount == "floor_frame" else
                 [Parameter("camera_height_m", value=CAMERA_HEIGHT_M)])
    lifter, sender, tf, probe = _lifter(ros_graph, *overrides)
    if mount == "floor_frame":
        _stream(sender, probe, 1, 1)
        assert lifter.health.counts["no_floor"] == 1 and "base_footprint" in lifter.health.last_message["no_floor"]
        tf.mount()
        wait_for(lambda: lifter._tf.lookup("base_footprint", "camera_optical_frame") is not None, what="/tf_static")
    skeletons = _stream(sender, probe, 2, 5)
    assert {s.root_source for s in skeletons} == {ROOT_FROM_FLOOR}
    pelvis = np.array([[s.body.position.x, s.body.position.y, s.body.position.z] for s in skeletons])
    np.testing.assert_allclose(pelvis[-1], [0.0, 0.0, DISTANCE_M], atol=0.1 * DISTANCE_M)


def _transform(parent: str, child: str, xyz: tuple[float, float, float], yaw_rad: float = 0.0) -> TransformStamped:
    t = TransformStamped()
    t.header.frame_id, t.child_frame_id = parent, child
    t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = xyz
    t.transform.rotation.w, t.transform.rotation.z = np.cos(yaw_rad / 2), np.sin(yaw_rad / 2)
    return t


def test_tf_tree_composes_through_a_common_ancestor_and_stays_bounded(ros_graph):
    tree = TfTree(ros_graph.add(Node, node_name="tf_user"), max_frames=3)
    tree.add(TFMessage(transforms=[_transform("odom", "base_footprint", (1.0, 0.0, 0.0), np.pi / 2)]), static=False)
    tree.add(TFMessage(transforms=[_transform("base_footprint", "camera", (0.0, 0.5, 1.0)),
                                   _transform("base_footprint", "arm", (0.2, 0.0, 0.8))]), static=True)
    pose = tree.lookup("odom", "camera")  # the camera at (0, 0.5, 1) of a base turned 90 degrees at x = 1
    np.testing.assert_allclose(pose[:3, 3], [0.5, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(tree.lookup("arm", "camera")[:3, 3], [-0.2, 0.5, 0.2], atol=1e-12)
    assert tree.lookup("map", "camera") is None
    tree.add(TFMessage(transforms=[_transform("odom", f"person_{i}", (0.0, 0.0, 0.0)) for i in range(5)]),
             static=False)
    assert tree.lookup("odom", "base_footprint") is None, "the oldest /tf frame made room"
    assert tree.lookup("base_footprint", "camera") is not None, "/tf_static frames are kept"
