"""pipeline: the nodes composed in one process on a MultiThreadedExecutor, for the lowest latency.

Runs keypoint_detector and lifter (and video_source with ``--video-source``); images then pass between
nodes inside the process instead of through the network stack. Parameters come as for the separate
nodes: ``--ros-args --params-file config/pose3d_ros.yaml``.
"""

from __future__ import annotations

import sys

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.utilities import remove_ros_args

from pose3d_ros.ros.detector_node import KeypointDetector
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.ros.video_source_node import VideoSource


def main(args: list[str] | None = None) -> None:
    args = sys.argv if args is None else args
    own = remove_ros_args(args)[1:]
    if own not in ([], ["--video-source"]):
        raise SystemExit(f"pipeline: unknown arguments {own}; usage: pipeline [--video-source] [--ros-args ...]")
    rclpy.init(args=args)
    nodes = [KeypointDetector(), Lifter()]
    if own:
        nodes.append(VideoSource())
    executor = MultiThreadedExecutor()
    for node in nodes:
        executor.add_node(node)
    if own:
        nodes[-1].start()
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
