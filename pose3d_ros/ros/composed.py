"""pipeline: the nodes composed in one process, to save memory.

Runs keypoint_detector and lifter (and video_source with ``--video-source``) in one interpreter: one copy of
Python, NumPy and ONNX Runtime instead of two (resident after loading, on the development machine: 441 MB
against 272 + 376 MB for the two node processes). It is not faster: the nodes then share one GIL, and on the
2-core benchmark machine separate processes (lift.launch.py's default) gave as low or lower latency
(`pose3d-ros benchmark`, README "Speed"). Parameters come as for the separate nodes:
``--ros-args --params-file config/pose3d_ros.yaml``.

``--executor single`` (default) or ``multi``. The heavy work never runs on executor threads (the detector has
a worker thread of its own; MediaPipe and ONNX Runtime release the GIL), so one executor thread loses nothing.
rclpy's MultiThreadedExecutor up to 9.1 (Kilted) re-queues callbacks that are waiting for a pool thread and
spins while holding the GIL (ros2/rclpy#1452, fixed upstream by #1547), which starves the pipeline's own
threads: `pose3d-ros benchmark` measures both.
"""

from __future__ import annotations

import argparse
import sys

from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.utilities import remove_ros_args

from pose3d_ros.ros import spin_nodes
from pose3d_ros.ros.detector_node import KeypointDetector
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.ros.video_source_node import VideoSource

EXECUTORS = {"single": SingleThreadedExecutor, "multi": MultiThreadedExecutor}


def main(args: list[str] | None = None) -> None:
    args = sys.argv if args is None else args
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__.split("\n")[0])
    parser.add_argument("--video-source", action="store_true", help="also run video_source in this process")
    parser.add_argument("--executor", choices=EXECUTORS, default="single", help="rclpy executor (default: single)")
    options = parser.parse_args(remove_ros_args(args)[1:])

    def make_nodes() -> list:
        nodes = [KeypointDetector(), Lifter()]
        if options.video_source:
            nodes.append(VideoSource())
            nodes[-1].start()
        return nodes

    spin_nodes(make_nodes, args, executor=EXECUTORS[options.executor])
