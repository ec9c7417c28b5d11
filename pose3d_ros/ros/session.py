"""Run the whole graph once over real DDS and report what came out (demo and benchmark).

video_source -> keypoint_detector -> lifter -> recorder with the parameters of config/pose3d_ros.yaml plus
overrides, in one of two layouts: ``composed``, every node on one executor of this process (as the
``pipeline`` executable runs detector and lifter), or ``processes``, detector and lifter each in a process of
its own (as lift.launch.py starts them by default) beside video_source and the recorder in this one. The
video starts once every subscriber is matched (and so every model is loaded), and the run ends when the
video is done and the pipeline has drained.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from tqdm import tqdm

from pose3d_ros.ros import share_dir
from pose3d_ros.ros.composed import EXECUTORS
from pose3d_ros.ros.detector_node import KeypointDetector
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.ros.recorder import Recorder
from pose3d_ros.ros.video_source_node import VideoSource


@dataclass
class RunSummary:
    frames_in: int              # frames the video source published
    frames_detected: int        # frames the detector processed
    frames_dropped: int         # frames that never reached 3D (replaced while the detector was busy, or lost)
    messages_3d: int            # Skeleton3DArray messages received by the recorder
    skeletons_3d: int           # 3D skeletons in them
    fps: float                  # 3D messages per second of wall time, first to last
    latency_ms_p50: float       # image stamp -> Skeleton3DArray published
    latency_ms_p95: float
    detector_ms_p50: float      # the detector alone, on the same frames
    detector_ms_p95: float
    people_per_frame: float     # 3D skeletons per 3D message
    person_detector_runs: int   # calls of the person-detector network (blazepose; the rest follow ROIs)
    person_detector_ms_p50: float  # one such call, every tile of a frame
    landmark_ms_per_person_p50: float  # the landmark network per person (a frame's people in one batch)
    problems: dict[str, int]    # counted input problems, per node and kind
    latency_ms: list[float] = field(default_factory=list, repr=False)   # every message, for plots
    detector_ms: list[float] = field(default_factory=list, repr=False)

    def table(self) -> str:
        rows = [
            ("frames in", f"{self.frames_in}"), ("frames detected", f"{self.frames_detected}"),
            ("frames dropped", f"{self.frames_dropped}"), ("3D messages", f"{self.messages_3d}"),
            ("3D skeletons out", f"{self.skeletons_3d}"), ("output rate", f"{self.fps:.1f} FPS"),
            ("latency p50 (image stamp -> 3D publish)", f"{self.latency_ms_p50:.1f} ms"),
            ("latency p95 (image stamp -> 3D publish)", f"{self.latency_ms_p95:.1f} ms"),
            ("detector alone p50", f"{self.detector_ms_p50:.1f} ms"),
            ("detector alone p95", f"{self.detector_ms_p95:.1f} ms"),
            ("people per frame", f"{self.people_per_frame:.2f}"),
            ("person-detector network runs", f"{self.person_detector_runs}"),
            ("person-detector network p50", f"{self.person_detector_ms_p50:.1f} ms"),
            ("landmark network per person p50", f"{self.landmark_ms_per_person_p50:.1f} ms"),
        ]
        rows += [(f"problems: {k}", str(v)) for k, v in sorted(self.problems.items())]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"| {k:<{width}} | {v:>10} |" for k, v in rows)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


LAYOUTS = ("processes", "composed")
_NODES = {"keypoint_detector": KeypointDetector, "lifter": Lifter}


def _configured_context() -> Context:
    """A fresh rclpy context whose nodes read config/pose3d_ros.yaml."""
    context = Context()
    rclpy.init(args=["--ros-args", "--params-file", str(share_dir() / "config" / "pose3d_ros.yaml")],
               context=context)
    return context


def _overrides(params: dict[str, Any]) -> list[Parameter]:
    return [Parameter(k, value=v) for k, v in params.items()]


@contextmanager
def composed_graph(source: dict[str, Any] | None = None, detector: dict[str, Any] | None = None,
                   lifter: dict[str, Any] | None = None, executor: str = "single",
                   make_extra: Callable[[VideoSource, Context], Node] | None = None,
                   in_process: tuple[str, ...] = ("keypoint_detector", "lifter")) -> Iterator[list[Node]]:
    """video_source, those of keypoint_detector and lifter named in ``in_process``, and
    ``make_extra(video, context)``, with the parameters of config/pose3d_ros.yaml plus the given overrides,
    spinning on one executor in a thread of this process; yields the nodes in that order. The video does not
    start by itself: call the first node's ``start()``.

    executor: "single" or "multi" (composed.EXECUTORS).
    """
    context = _configured_context()
    runner = EXECUTORS[executor](context=context)
    made: list[Node] = []
    try:
        video = VideoSource(context=context, parameter_overrides=_overrides(source or {}))
        made.append(video)
        for name, params in (("keypoint_detector", detector), ("lifter", lifter)):
            if name in in_process:
                made.append(_NODES[name](context=context, parameter_overrides=_overrides(params or {})))
        if make_extra is not None:
            made.append(make_extra(video, context))
        for node in made:
            runner.add_node(node)
        threading.Thread(target=runner.spin, daemon=True).start()
        yield made
    finally:
        runner.shutdown()
        for node in made:
            node.destroy_node()
        rclpy.try_shutdown(context=context)


def _report(node: Node) -> dict[str, Any]:
    """What a run needs of the detector or lifter node, as plain values that can cross a process boundary."""
    report: dict[str, Any] = {"problems": {f"{node.get_name()}/{k}": v for k, v in node.health.counts.items()}}
    if isinstance(node, KeypointDetector):
        networks = node.stage.detector if node.stage is not None else None
        report.update(frames_processed=node.frames_processed, detect_s=list(node.detect_s),
                      detector_ms=list(getattr(networks, "detector_ms", [])),
                      landmark_ms=list(getattr(networks, "landmark_ms", [])))
    else:
        report.update(latency_s=list(node.latency_s))
    return report


def _node_process(name: str, params: dict[str, Any], stop, reports) -> None:
    """Body of a spawned process: node ``name`` (keypoint_detector or lifter) with config/pose3d_ros.yaml and
    ``params``, spun on one thread until ``stop`` is set; then its _report goes to the pipe ``reports``."""
    context = _configured_context()
    own_executor = {"detect_in_callback": True} if name == "keypoint_detector" else {}
    node = _NODES[name](context=context, parameter_overrides=_overrides(params), **own_executor)
    runner = SingleThreadedExecutor(context=context)
    runner.add_node(node)
    try:
        while not stop.is_set():
            runner.spin_once(timeout_sec=0.1)
        reports.send(_report(node))
    finally:
        runner.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)


class NodeProcesses:
    """keypoint_detector and lifter, each in a spawned process of its own, as lift.launch.py starts them."""

    def __init__(self, detector: dict[str, Any] | None, lifter: dict[str, Any] | None):
        spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no rclpy state is forked
        self._stop = spawn.Event()
        self._pipes = {}
        self._processes = []
        for name, params in (("keypoint_detector", detector), ("lifter", lifter)):
            self._pipes[name], send = spawn.Pipe(duplex=False)
            self._processes.append(spawn.Process(target=_node_process, args=(name, params or {}, self._stop, send),
                                                 name=name, daemon=True))
            self._processes[-1].start()

    def alive(self) -> bool:
        return all(process.is_alive() for process in self._processes)

    def reports(self, timeout_s: float = 30.0) -> dict[str, dict[str, Any]]:
        """Stop both nodes and return each one's _report by node name."""
        self._stop.set()
        reports = {}
        for name, pipe in self._pipes.items():
            if not pipe.poll(timeout_s):
                raise RuntimeError(f"node process '{name}' sent no report within {timeout_s} s after the run")
            reports[name] = pipe.recv()
        return reports

    def close(self) -> None:
        self._stop.set()
        for process in self._processes:
            process.join(timeout=10.0)
            if process.is_alive():
                process.kill()


def run_pipeline(out_dir: Path, source: dict[str, Any] | None = None, detector: dict[str, Any] | None = None,
                 lifter: dict[str, Any] | None = None, render: bool = True, total_frames: int | None = None,
                 executor: str = "single", layout: str = "composed", record: bool = True,
                 discovery_timeout_s: float = 30.0) -> RunSummary:
    """Run the graph on one video and return its summary. Writes the MCAP bag ``out_dir/bag`` if ``record``
    and, with ``render``, ``overlay.mp4`` and ``contact_sheet.png``.

    source, detector, lifter: parameter overrides for video_source, keypoint_detector and lifter.
    layout: "composed" (everything on one executor in this process) or "processes" (LAYOUTS).
    executor: "single" or "multi" (composed.EXECUTORS): the composed layout's executor.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout '{layout}'; expected one of {', '.join(LAYOUTS)}")
    if (out_dir / "bag").exists():
        raise FileExistsError(f"{out_dir / 'bag'} exists already; choose another output folder or remove it")
    out_dir.mkdir(parents=True, exist_ok=True)

    def make_recorder(video: VideoSource, context: Context) -> Recorder:
        return Recorder(out_dir / "bag" if record else None, out_dir if render else None,
                        video.p["fps"] or video.source_fps, context=context)

    if layout == "composed":
        with composed_graph(source, detector, lifter, executor, make_recorder) as (video, det, lift, recorder):
            _play(video, recorder, discovery_timeout_s, total_frames)
            _drain(lambda: (det.frames_processed, lift.skeletons_published))
            recorder.close()
            return _summary(video, recorder, _report(det), _report(lift))
    nodes = NodeProcesses(detector, lifter)
    try:
        with composed_graph(source, make_extra=make_recorder, in_process=()) as (video, recorder):
            _play(video, recorder, discovery_timeout_s, total_frames, nodes.alive)
            _drain(lambda: (recorder.messages_2d, recorder.messages_3d))
            reports = nodes.reports()
            recorder.close()
            return _summary(video, recorder, reports["keypoint_detector"], reports["lifter"])
    finally:
        nodes.close()


def _play(video: VideoSource, recorder: Recorder, discovery_timeout_s: float, total_frames: int | None,
          alive: Callable[[], bool] = lambda: True) -> None:
    """Once the graph is matched, play the video to its end with a progress bar."""
    image_readers = 2 if recorder.renders else 1  # detector (+ recorder drawing the overlay)
    # Each node makes its publishers after loading its networks: matched publishers mean loaded models.
    wait_for_graph(lambda: (video.image_pub.get_subscription_count() >= image_readers
                            and video.count_subscribers("skeletons_2d") >= 2  # lifter, recorder
                            and recorder.count_publishers("skeletons_3d") >= 1), discovery_timeout_s, alive)
    video.start()
    with tqdm(total=total_frames, unit="frame", desc="pipeline") as bar:
        while not video.finished.wait(0.25):
            bar.update(video.frames_published - bar.n)
        bar.update(video.frames_published - bar.n)


def wait_for_graph(matched: Callable[[], bool], timeout_s: float, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait until ``matched()``: every publisher on the data path sees its subscribers (DDS discovery is
    asynchronous). Raises RuntimeError as soon as ``alive()`` is false (a node process ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if matched():
            return
        if not alive():
            raise RuntimeError("a node process ended before the graph was up; its log above says why")
        time.sleep(0.05)
    raise TimeoutError(f"DDS discovery did not match the pipeline's publishers and subscribers within {timeout_s} s")


def _drain(progress: Callable[[], tuple[int, ...]], quiet_s: float = 0.5, timeout_s: float = 10.0) -> None:
    """Wait until the counters ``progress()`` (2D and 3D output) have not moved for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last = progress()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_s:
        time.sleep(0.05)
        now = progress()
        if now != last:
            last, quiet_since = now, time.monotonic()


def _percentiles(values_s, *qs: float) -> list[float]:
    if len(values_s) == 0:
        return [float("nan")] * len(qs)
    return [float(np.percentile(np.asarray(values_s) * 1e3, q)) for q in qs]


def _median(values_ms: list[float]) -> float:
    return float(np.median(values_ms)) if values_ms else float("nan")


def _summary(video: VideoSource, recorder: Recorder, det: dict[str, Any], lift: dict[str, Any]) -> RunSummary:
    """The run's figures from the source, the recorder and the nodes' _reports."""
    lat50, lat95 = _percentiles(lift["latency_s"], 50, 95)
    det50, det95 = _percentiles(det["detect_s"], 50, 95)
    messages = recorder.messages_3d
    duration = recorder.last_3d_s - recorder.first_3d_s if messages > 1 else 0.0
    per_person_ms = [ms / people for ms, people in det["landmark_ms"] if people]
    return RunSummary(
        frames_in=video.frames_published, frames_detected=det["frames_processed"],
        frames_dropped=video.frames_published - det["frames_processed"], messages_3d=messages,
        skeletons_3d=recorder.skeletons_3d,
        fps=(messages - 1) / duration if duration > 0 else 0.0,
        latency_ms_p50=lat50, latency_ms_p95=lat95, detector_ms_p50=det50, detector_ms_p95=det95,
        people_per_frame=recorder.skeletons_3d / messages if messages else 0.0,
        person_detector_runs=len(det["detector_ms"]), person_detector_ms_p50=_median(det["detector_ms"]),
        landmark_ms_per_person_p50=_median(per_person_ms), problems={**det["problems"], **lift["problems"]},
        latency_ms=[t * 1e3 for t in lift["latency_s"]], detector_ms=[t * 1e3 for t in det["detect_s"]],
    )
