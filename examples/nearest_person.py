"""Follow every tracked body (ROS4HRI) and print the nearest person's distance and wrist heights, from /tf.

    .venv/bin/python examples/nearest_person.py --ros-args -p camera_frame:=camera_optical_frame

(beside a running pipeline, e.g. ``pose3d-ros demo`` or ``ros2 launch pose3d_ros lift.launch.py``).

A minimal client of what pose3d_ros publishes: the ids on /humans/bodies/tracked, and for each body the frames
``body_<id>`` (pelvis, in the camera frame) and REP-155's ``l_wrist_<id>`` / ``r_wrist_<id>`` (under it, through
the arm's links). With tf2_ros installed, ``Buffer.lookup_transform(camera_frame, f"l_wrist_{id}", Time())``
does what ``Frames.locate`` does here; this file keeps to rclpy so it runs wherever pose3d_ros does.
"""

from __future__ import annotations

import numpy as np
import rclpy
import transforms3d
from hri_msgs.msg import IdsList
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage


class Frames:
    """The newest transform of every child frame on /tf, composed up the tree on request."""

    def __init__(self, max_frames: int = 10_000):
        self._parent: dict[str, tuple[str, np.ndarray]] = {}  # child -> (parent, 4x4 parent <- child)
        self._max_frames = max_frames

    def add(self, msg: TFMessage) -> None:
        for t in msg.transforms:
            r, p = t.transform.rotation, t.transform.translation
            pose = np.eye(4)
            pose[:3, :3] = transforms3d.quaternions.quat2mat([r.w, r.x, r.y, r.z])
            pose[:3, 3] = [p.x, p.y, p.z]
            self._parent.pop(t.child_frame_id, None)  # re-insert: the dict's order is oldest-updated first
            self._parent[t.child_frame_id] = (t.header.frame_id, pose)
        while len(self._parent) > self._max_frames:  # frames of people long gone
            self._parent.pop(next(iter(self._parent)))

    def locate(self, frame: str, target: str) -> np.ndarray | None:
        """4x4 pose of ``frame`` in ``target`` (an ancestor of it), or None if the chain is not known."""
        pose = np.eye(4)
        while frame != target:
            if frame not in self._parent:
                return None
            frame, step = self._parent[frame]
            pose = step @ pose
        return pose


class NearestPerson(Node):
    def __init__(self, **kwargs):
        super().__init__("nearest_person", **kwargs)
        self.camera_frame = self.declare_parameter("camera_frame", "camera_optical_frame").value
        self.frames = Frames()
        self.latest: dict | None = None  # what was last printed, for tests
        self.create_subscription(TFMessage, "/tf", self.frames.add, QoSProfile(depth=100))
        self.create_subscription(IdsList, "/humans/bodies/tracked", self.on_tracked,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))

    def on_tracked(self, msg: IdsList) -> None:
        people = []
        for body_id in msg.ids:
            body = self.frames.locate(f"body_{body_id}", self.camera_frame)
            wrists = [self.frames.locate(f"{side}_wrist_{body_id}", f"body_{body_id}") for side in "lr"]
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
