"""The newest transform of every frame on /tf and /tf_static, composed on request: what the lifter needs of tf2
(tf2_ros is not installable where this package is built from PyPI; no interpolation, the newest pose wins)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import transforms3d
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from tf2_msgs.msg import TFMessage

from pose3d_ros.ros import qos

# /tf_static as tf2's StaticTransformBroadcaster publishes it: latched for late subscribers.
TF_STATIC = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


class TfTree:
    """Parent and pose of each child frame, at most ``max_frames`` of them (the least recently updated of /tf
    goes first; /tf_static's are kept)."""

    def __init__(self, node: Node, max_frames: int = 10_000):
        self._dynamic: OrderedDict[str, tuple[str, np.ndarray]] = OrderedDict()
        self._static: dict[str, tuple[str, np.ndarray]] = {}
        self._max_frames = max_frames
        node.create_subscription(TFMessage, "/tf", lambda m: self.add(m, static=False), qos.TF)
        node.create_subscription(TFMessage, "/tf_static", lambda m: self.add(m, static=True), TF_STATIC)

    def add(self, msg: TFMessage, static: bool) -> None:
        for t in msg.transforms:
            r, p = t.transform.rotation, t.transform.translation
            pose = np.eye(4)
            pose[:3, :3] = transforms3d.quaternions.quat2mat([r.w, r.x, r.y, r.z])
            pose[:3, 3] = [p.x, p.y, p.z]
            if not np.isfinite(pose).all():
                continue
            if static:
                self._static[t.child_frame_id] = (t.header.frame_id, pose)
            else:
                self._dynamic.pop(t.child_frame_id, None)
                self._dynamic[t.child_frame_id] = (t.header.frame_id, pose)
        while len(self._dynamic) > self._max_frames:
            self._dynamic.popitem(last=False)

    def _parent(self, frame: str) -> tuple[str, np.ndarray] | None:
        return self._static.get(frame) or self._dynamic.get(frame)

    def _to_root(self, frame: str) -> dict[str, np.ndarray]:
        """Each ancestor of ``frame`` (itself included) -> the pose of ``frame`` in it."""
        chain, pose = {frame: np.eye(4)}, np.eye(4)
        while (step := self._parent(frame)) is not None and step[0] not in chain and len(chain) < 64:
            frame, pose = step[0], step[1] @ pose
            chain[frame] = pose
        return chain

    def lookup(self, target: str, source: str) -> np.ndarray | None:
        """4x4 pose of ``source`` in ``target`` (points: x_target = T @ x_source), or None while the two frames
        are not connected."""
        up_source, up_target = self._to_root(source), self._to_root(target)
        common = next((frame for frame in up_source if frame in up_target), None)
        if common is None:
            return None
        return np.linalg.solve(up_target[common], up_source[common])
