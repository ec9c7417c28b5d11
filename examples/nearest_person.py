"""Follow every tracked body (ROS4HRI) and print the nearest person's distance and wrist heights, from /tf.

    .venv/bin/python examples/nearest_person.py --ros-args -p camera_frame:=camera_optical_frame

(beside a running pipeline, e.g. ``pose3d-ros demo`` or ``ros2 launch pose3d_ros lift.launch.py``).

A minimal client of what pose3d_ros publishes: the ids on /humans/bodies/tracked, and for each body the frames
``body_<id>`` (pelvis, in the camera frame) and REP-155's ``l_wrist_<id>`` / ``r_wrist_<id>`` (under it, through
the arm's links). With tf2_ros installed, ``Buffer.lookup_transform(camera_frame, f"l_wrist_{id}", Time())``
does what pose3d_ros's own ``TfTree.lookup`` does here, so this file runs wherever pose3d_ros does.
"""

from __future__ import annotations

import numpy as np
import rclpy
from hri_msgs.msg import IdsList
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from pose3d_ros.ros.tf_tree import TfTree


class NearestPerson(Node):
    def __init__(self, **kwargs):
        super().__init__("nearest_person", **kwargs)
        self.camera_frame = self.declare_parameter("camera_frame", "camera_optical_frame").value
        self.frames = TfTree(self)
        self.latest: dict | None = None  # what was last printed, for tests
        self.create_subscription(IdsList, "/humans/bodies/tracked", self.on_tracked,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))

    def on_tracked(self, msg: IdsList) -> None:
        people = []
        for body_id in msg.ids:
            body = self.frames.lookup(self.camera_frame, f"body_{body_id}")
            wrists = [self.frames.lookup(f"body_{body_id}", f"{side}_wrist_{body_id}") for side in "lr"]
            if body is not None and all(w is not None for w in wrists):
                people.append({"id": body_id, "distance_m": float(np.linalg.norm(body[:3, 3])),
                               "left_wrist_m": float(wrists[0][2, 3]), "right_wrist_m": float(wrists[1][2, 3])})
        if not people:
            return
        self.latest = min(people, key=lambda p: p["distance_m"])
        self.get_logger().info(
            f"{len(people)} people; nearest: body {self.latest['id']} at {self.latest['distance_m']:.2f} m, wrists "
            f"{self.latest['left_wrist_m']:+.2f} m (left) and {self.latest['right_wrist_m']:+.2f} m (right) above "
            "the pelvis")


def main() -> None:
    rclpy.init()
    node = NearestPerson()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
