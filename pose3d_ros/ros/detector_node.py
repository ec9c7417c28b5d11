"""keypoint_detector: image_raw -> 2D keypoints of every person, tracked, in the Human3.6M-17 layout.

Subscribes ``image_raw`` with sensor-data QoS and keeps only the newest frame: a frame that arrives while the
detector is busy replaces the waiting one, so the output never lags behind the camera. Alone in its process
(the ``keypoint_detector`` executable, as lift.launch.py starts it) the node detects inside the image callback
and the subscription's depth-1 history is where the newest frame waits; composed with other nodes on one
executor (the ``pipeline`` executable) it detects on a worker thread that takes the newest frame from a
one-item mailbox, so the executor stays free for the lifter, and it counts the frames replaced there. The
callback is the faster of the two when the node has its executor to itself, as a worker thread competes for
the GIL with the executor thread taking the next 921 KB image: on the 2-core development machine, five runs
of each gave a 3D latency p50 of 21-24 against 23-29 ms, and a p95 over the detector's p95 of 1.31-1.50
against 1.52-1.74. Publishes ``skeletons_2d`` (pose3d_ros/Skeleton2DArray) with the image's
header.
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
    """The keypoint_detector node. ``detect_in_callback``: detect in the image callback, for a node with an
    executor of its own; else on a worker thread (module docstring)."""

    def __init__(self, detect_in_callback: bool = False, **kwargs):
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
        self.frames_received = 0
        self.frames_processed = 0
        # Seconds spent in the detector alone per frame (bounded), for benchmarks beside end-to-end latency.
        self.detect_s: deque[float] = deque(maxlen=10_000)
        self._slot: LatestSlot | None = None
        self._worker: threading.Thread | None = None
        self._stop = threading.Event()
        if detect_in_callback:
            self.create_subscription(Image, "image_raw", self._detect_now, qos.SENSOR)
        else:
            self._slot = LatestSlot()
            self.create_subscription(Image, "image_raw", self._on_image, qos.SENSOR)
            self._worker = threading.Thread(target=self._work, name="keypoint_detector", daemon=True)
            self._worker.start()
        self.get_logger().info(f"detecting with '{self.p['detector']}' on {self.resolve_topic_name('image_raw')}")

    @property
    def frames_dropped(self) -> int | None:
        """Frames replaced by a newer one while the detector was busy; None when detecting in the callback,
        where they are replaced inside DDS, unseen (the source's count minus frames_received says how many)."""
        return None if self._slot is None else self._slot.replaced

    def _on_image(self, msg: Image) -> None:
        self.frames_received += 1
        self._slot.put(msg)

    def _detect_now(self, msg: Image) -> None:
        self.frames_received += 1
        self._detect_guarded(msg)

    def _work(self) -> None:
        while not self._stop.is_set():
            msg = self._slot.take(timeout_s=0.1)
            if msg is not None and not self._detect_guarded(msg):
                return

    def _detect_guarded(self, msg: Image) -> bool:
        """Detect on ``msg``, counting any failure; False when the node is shutting down."""
        if self.stage is None:
            return True
        try:
            self._process(msg)
        except Exception as err:  # one frame's failure must not end detection for good
            if not self.context.ok():
                return False  # shutting down (Ctrl-C): publishers are gone, nothing to report
            self.health.problem("internal_error", f"{type(err).__name__}: {err}; frame skipped")
        return True

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
            })
            if self.frames_dropped is not None:
                self.health.values["frames_dropped"] = str(self.frames_dropped)

    def destroy_node(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=2.0)
        if self.stage is not None:
            self.stage.detector.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    spin_node(lambda: KeypointDetector(detect_in_callback=True), args)
