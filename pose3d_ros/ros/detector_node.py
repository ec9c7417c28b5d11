"""keypoint_detector: image_raw -> 2D keypoints of every person, tracked, in the Human3.6M-17 layout.

Subscribes ``image_raw`` with sensor-data QoS and keeps only the newest frame: a frame that arrives while the
detector is busy replaces the waiting one (counted as dropped), so the output never lags behind the camera.
Publishes ``skeletons_2d`` (pose3d_ros/Skeleton2DArray) with the image's header.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Image

from pose3d_ros.detect import DetectorError, make_detector
from pose3d_ros.image import ImageFormatError
from pose3d_ros.msg import Skeleton2DArray
from pose3d_ros.pipeline import KeypointStage
from pose3d_ros.ros import qos, spin_node
from pose3d_ros.ros.conversions import image_msg_to_rgb, skeletons_2d_msg, stamp_ns, stamp_problem
from pose3d_ros.ros.diagnostics import Health
from pose3d_ros.ros.params import declare
from pose3d_ros.track import Tracker

PARAMETERS = {
    "detector": ("blazepose", "2D keypoint backend: blazepose (every person; BlazePose's networks on the runtime "
                              "layer) or mediapipe_legacy (MediaPipe's own API, one person)"),
    "backend": ("auto", "blazepose runtime: auto (TensorRT, ONNX Runtime CUDA, else ONNX Runtime CPU), tensorrt, "
                        "onnxruntime_cuda or onnxruntime"),
    "landmark_model": ("full", "blazepose landmark network: lite, full or heavy (lite and heavy come from npm on "
                               "first use)"),
    "detect_every": (10, "blazepose: frames between person-detector runs while everyone is followed; it also "
                         "runs when someone is lost"),
    "workers": (0, "blazepose on the CPU: single-threaded sessions sharing each frame's people; 0 = one per core, "
                   "at most 4"),
    "precision": ("fp16", "blazepose on TensorRT: fp16 or fp32"),
    "engine_dir": ("", "TensorRT engine cache folder; empty = ~/.cache/pose3d_ros/engines"),
    "min_detection_confidence": (0.5, "Person detection threshold in [0, 1]"),
    "min_tracking_confidence": (0.5, "Below this a person is lost and the detector searches again, in [0, 1]"),
    "static_image_mode": (False, "Detect from scratch in every frame (slower; for unrelated images)"),
    "max_people": (16, "Most people followed and tracks kept at once; the longest-unseen track closes to make room"),
    "track_max_age_s": (1.0, "A track unseen this long (seconds) closes; its id is never reused"),
    "track_max_cost": (0.5, "Largest match distance (mean keypoint distance / box diagonal) that continues a track"),
}


def detector_options(p: dict, log) -> dict:
    """The ``make_detector`` options of the detector the parameters ``p`` name."""
    options = {name: p[name] for name in ("min_detection_confidence", "min_tracking_confidence", "static_image_mode")}
    if p["detector"] == "blazepose":
        options.update({name: p[name] for name in ("backend", "landmark_model", "detect_every", "workers",
                                                   "max_people", "precision")},
                       engine_dir=p["engine_dir"] or None, log=log)
    return options


class LatestSlot:
    """A one-item mailbox between a callback and a worker: putting replaces (and counts) the waiting item."""

    def __init__(self):
        self._item = None
        self._ready = threading.Condition()
        self.replaced = 0

    def put(self, item) -> None:
        with self._ready:
            if self._item is not None:
                self.replaced += 1
            self._item = item
            self._ready.notify()

    def take(self, timeout_s: float):
        """The waiting item, or None after ``timeout_s``."""
        with self._ready:
            if self._item is None:
                self._ready.wait(timeout_s)
            item, self._item = self._item, None
            return item


class KeypointDetector(Node):
    def __init__(self, **kwargs):
        super().__init__("keypoint_detector", **kwargs)
        self.p = declare(self, PARAMETERS)
        self.health = Health(self)
        self.stage: KeypointStage | None = None
        try:
            detector = make_detector(self.p["detector"], **detector_options(self.p, self.get_logger().info))
            tracker = Tracker(self.p["track_max_cost"], self.p["track_max_age_s"], self.p["max_people"])
            self.stage = KeypointStage(detector, tracker)
        except (DetectorError, ValueError) as err:
            self.health.set_fatal(f"no 2D detector, no output: {err}")
        self.skeletons_pub = self.create_publisher(Skeleton2DArray, "skeletons_2d", qos.RESULTS)
        self.create_subscription(Image, "image_raw", self._on_image, qos.SENSOR)
        self._slot = LatestSlot()
        self.frames_received = 0
        self.frames_processed = 0
        # Seconds spent in the detector alone per frame (bounded), for benchmarks beside end-to-end latency.
        self.detect_s: deque[float] = deque(maxlen=10_000)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name="keypoint_detector", daemon=True)
        self._worker.start()
        self.get_logger().info(f"detecting with '{self.p['detector']}' on {self.resolve_topic_name('image_raw')}")

    @property
    def frames_dropped(self) -> int:
        return self._slot.replaced

    def _on_image(self, msg: Image) -> None:
        self.frames_received += 1
        self._slot.put(msg)

    def _work(self) -> None:
        while not self._stop.is_set():
            msg = self._slot.take(timeout_s=0.1)
            if msg is None or self.stage is None:
                continue
            try:
                self._process(msg)
            except Exception as err:  # one frame's failure must not end detection for good
                if not self.context.ok():
                    return  # shutting down (Ctrl-C): publishers are gone, nothing to report
                self.health.problem("internal_error", f"{type(err).__name__}: {err}; frame skipped")

    def _process(self, msg: Image) -> None:
        problem = stamp_problem(msg.header)
        if problem is not None:
            self.health.problem("bad_stamp", problem)
            return
        t_ns = stamp_ns(msg.header)
        try:
            rgb = image_msg_to_rgb(msg)
        except ImageFormatError as err:
            self.health.problem("bad_image", f"{err}; frame skipped")
            return
        start = time.perf_counter()
        try:
            people, issues = self.stage.process(rgb, t_ns)
        except DetectorError as err:
            self.health.problem("detector_error", f"{err}; frame skipped")
            return
        for issue in issues:
            self.health.problem(issue.kind, issue.message)
        if any(issue.kind == "stamp_out_of_order" for issue in issues):
            return  # skipped: an empty message would say that nobody is there
        self.detect_s.append(time.perf_counter() - start)
        self.skeletons_pub.publish(skeletons_2d_msg(msg.header, msg.width, msg.height, people))
        self.frames_processed += 1
        if self.frames_processed % 30 == 0:
            ms = np.asarray(self.detect_s) * 1e3
            self.health.values.update({
                "detect_ms_p50": f"{np.percentile(ms, 50):.1f}", "detect_ms_p95": f"{np.percentile(ms, 95):.1f}",
                "frames_received": str(self.frames_received), "frames_processed": str(self.frames_processed),
                "frames_dropped": str(self.frames_dropped),
            })

    def destroy_node(self) -> None:
        self._stop.set()
        self._worker.join(timeout=2.0)
        if self.stage is not None:
            self.stage.detector.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    spin_node(KeypointDetector, args)
