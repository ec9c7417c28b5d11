"""Shared test tools: a private rclpy context per test with an executor spinning on a thread, a probe that
records topics, and hand-made inputs.

Tests that start ROS 2 must run on loopback only (tools/test.sh runs pytest inside tools/loopback).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import rclpy
from rclpy.context import Context
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from pose3d_ros.camera import CameraModel
from pose3d_ros.layouts import H36M17
from pose3d_ros.msg import Keypoint2D, Skeleton2D, Skeleton2DArray
from pose3d_ros.ros import qos

WIDTH, HEIGHT = 640, 480

# The package's ament prefix (the venv that tools/setup.sh builds), for ament_index look-ups as under `ros2 launch`.
if sys.prefix not in os.environ.get("AMENT_PREFIX_PATH", "").split(":"):
    os.environ["AMENT_PREFIX_PATH"] = ":".join(p for p in (sys.prefix, os.environ.get("AMENT_PREFIX_PATH")) if p)


class RosGraph:
    """Nodes of one test on a MultiThreadedExecutor of their own context."""

    def __init__(self):
        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(context=self.context)
        self.nodes = []
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node_class, **kwargs):
        """Create ``node_class(context=..., **kwargs)`` and spin it."""
        node = node_class(context=self.context, **kwargs)
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def close(self) -> None:
        self.executor.shutdown()
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def wait_quiet(count: Callable[[], int], quiet_s: float = 0.5, timeout_s: float = 20.0, what: str = "output") -> None:
    """Wait until ``count()`` is positive and has not changed for ``quiet_s``: the stream has drained."""
    deadline = time.monotonic() + timeout_s
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif now > 0 and time.monotonic() - since >= quiet_s:
            return
    pytest.fail(f"timed out after {timeout_s} s waiting for {what} to arrive and settle (got {last})")


@pytest.fixture
def ros_graph() -> Iterator[RosGraph]:
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        pytest.exit("ROS 2 tests must stay on loopback: run them with tools/test.sh (or inside tools/loopback)", 2)
    graph = RosGraph()
    yield graph
    graph.close()


def make_probe(topics: dict[str, tuple[type, object]]):
    """A node class recording every message of ``topics`` ({name: (message class, QoS)}) in ``probe.got[name]``."""

    class Probe(Node):
        def __init__(self, **kwargs):
            super().__init__("probe", **kwargs)
            self.got = {name: [] for name in topics}
            for name, (cls, profile) in topics.items():
                self.create_subscription(cls, name, self.got[name].append, profile)

    return Probe


class Sender(Node):
    """Publishes hand-made inputs to the nodes under test."""

    def __init__(self, **kwargs):
        super().__init__("sender", **kwargs)
        self.images = self.create_publisher(Image, "image_raw", qos.CAMERA_PUBLISHER)
        self.infos = self.create_publisher(CameraInfo, "camera_info", qos.CAMERA_PUBLISHER)
        self.skeletons = self.create_publisher(Skeleton2DArray, "skeletons_2d", qos.RESULTS)


def skeletons_msg(stamp_s: int, keypoints_px: np.ndarray, layout: str = H36M17.name,
                  nanosec: int = 0) -> Skeleton2DArray:
    """One person (track 1) with confidence 1 everywhere, stamped ``stamp_s`` s + ``nanosec``."""
    msg = Skeleton2DArray(image_width=WIDTH, image_height=HEIGHT)
    msg.header.stamp.sec = stamp_s
    msg.header.stamp.nanosec = nanosec
    msg.header.frame_id = "camera_optical_frame"
    msg.skeletons = [Skeleton2D(track_id=1, layout=layout, score=1.0, keypoints=[
        Keypoint2D(x_px=float(x), y_px=float(y), confidence=1.0) for x, y in keypoints_px])]
    return msg


STANDING_M = np.array([[0, 0, 0], [-.12, 0, 0], [-.12, .45, 0], [-.12, .9, 0], [.12, 0, 0], [.12, .45, 0],
                       [.12, .9, 0], [0, -.25, 0], [0, -.5, 0], [0, -.6, -.05], [0, -.75, 0], [.18, -.48, 0],
                       [.2, -.2, 0], [.22, .05, 0], [-.18, -.48, 0], [-.2, -.2, 0], [-.22, .05, 0]])


def person_px(root_m=(0.0, 0.0, 3.0)) -> np.ndarray:
    """A standing person's H36M-17 keypoints (pixels) with the pelvis at ``root_m`` before a nominal 640x480 camera."""
    return CameraModel.nominal(WIDTH, HEIGHT).project(STANDING_M + np.asarray(root_m))
