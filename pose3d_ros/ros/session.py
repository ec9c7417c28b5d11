"""Run the whole graph once over real DDS, in one process, and report what came out (demo and benchmark).

video_source -> keypoint_detector -> lifter -> recorder, composed on one executor (see composed.py) with the
parameters of config/pose3d_ros.yaml plus overrides. The video starts once every subscriber is matched, and
the run ends when the video is done and the pipeline has drained.
"""

from __future__ import annotations

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


def _overrides(params: dict[str, Any]) -> list[Parameter]:
    return [Parameter(k, value=v) for k, v in params.items()]


@contextmanager
def composed_graph(source: dict[str, Any] | None = None, detector: dict[str, Any] | None = None,
                   lifter: dict[str, Any] | None = None, executor: str = "single",
                   make_extra: Callable[[VideoSource, Context], Node] | None = None) -> Iterator[list[Node]]:
    """video_source, keypoint_detector and lifter (and ``make_extra(video, context)``) with the parameters of
    config/pose3d_ros.yaml plus the given overrides, spinning on one executor in a thread of this process;
    yields the nodes. The video does not start by itself: call ``nodes[0].start()``.

    executor: "single" or "multi" (composed.EXECUTORS).
    """
    context = Context()
    rclpy.init(args=["--ros-args", "--params-file", str(share_dir() / "config" / "pose3d_ros.yaml")],
               context=context)
    runner = EXECUTORS[executor](context=context)
    nodes: list[Node] = []
    try:
        video = VideoSource(context=context, parameter_overrides=_overrides(source or {}))
        nodes.append(video)
        nodes.append(KeypointDetector(context=context, parameter_overrides=_overrides(detector or {})))
        nodes.append(Lifter(context=context, parameter_overrides=_overrides(lifter or {})))
        if make_extra is not None:
            nodes.append(make_extra(video, context))
        for node in nodes:
            runner.add_node(node)
        threading.Thread(target=runner.spin, daemon=True).start()
        yield nodes
    finally:
        runner.shutdown()
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=context)


def run_pipeline(out_dir: Path, source: dict[str, Any] | None = None, detector: dict[str, Any] | None = None,
                 lifter: dict[str, Any] | None = None, render: bool = True, total_frames: int | None = None,
                 executor: str = "single", discovery_timeout_s: float = 20.0) -> RunSummary:
    """Run the graph on one video and return its summary. Writes the MCAP bag ``out_dir/bag`` and, with
    ``render``, ``overlay.mp4`` and ``contact_sheet.png``.

    source, detector, lifter: parameter overrides for video_source, keypoint_detector and lifter.
    executor: "single" or "multi" (composed.EXECUTORS).
    """
    if (out_dir / "bag").exists():
        raise FileExistsError(f"{out_dir / 'bag'} exists already; choose another output folder or remove it")
    out_dir.mkdir(parents=True, exist_ok=True)

    def make_recorder(video: VideoSource, context: Context) -> Recorder:
        return Recorder(out_dir / "bag", out_dir if render else None, video.p["fps"] or video.source_fps,
                        context=context)

    with composed_graph(source, detector, lifter, executor, make_recorder) as (video, det, lift, recorder):
        image_readers = 2 if recorder.renders else 1  # detector (+ recorder drawing the overlay)
        wait_for_graph(lambda: (video.image_pub.get_subscription_count() >= image_readers
                                and det.skeletons_pub.get_subscription_count() >= 2  # lifter, recorder
                                and lift.skeletons_pub.get_subscription_count() >= 1), discovery_timeout_s)
        video.start()
        with tqdm(total=total_frames, unit="frame", desc="pipeline") as bar:
            while not video.finished.wait(0.25):
                bar.update(video.frames_published - bar.n)
            bar.update(video.frames_published - bar.n)
        _drain(det, lift)
        recorder.close()
        return _summary(video, det, lift, recorder)


def wait_for_graph(matched: Callable[[], bool], timeout_s: float) -> None:
    """Wait until ``matched()``: every publisher on the data path sees its subscribers (DDS discovery is
    asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if matched():
            return
        time.sleep(0.05)
    raise TimeoutError(f"DDS discovery did not match the pipeline's publishers and subscribers within {timeout_s} s")


def _drain(det: KeypointDetector, lift: Lifter, quiet_s: float = 0.5, timeout_s: float = 10.0) -> None:
    """Wait until no new 3D output has appeared for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last = (det.frames_processed, lift.skeletons_published)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_s:
        time.sleep(0.05)
        now = (det.frames_processed, lift.skeletons_published)
        if now != last:
            last, quiet_since = now, time.monotonic()


def _percentiles(values_s, *qs: float) -> list[float]:
    if len(values_s) == 0:
        return [float("nan")] * len(qs)
    return [float(np.percentile(np.asarray(values_s) * 1e3, q)) for q in qs]


def _median(values_ms: list[float]) -> float:
    return float(np.median(values_ms)) if values_ms else float("nan")


def _summary(video: VideoSource, det: KeypointDetector, lift: Lifter, recorder: Recorder) -> RunSummary:
    lat50, lat95 = _percentiles(lift.latency_s, 50, 95)
    det50, det95 = _percentiles(det.detect_s, 50, 95)
    messages = recorder.messages_3d
    duration = recorder.last_3d_s - recorder.first_3d_s if messages > 1 else 0.0
    problems = {f"{node.get_name()}/{k}": v for node in (det, lift) for k, v in node.health.counts.items()}
    networks = det.stage.detector if det.stage is not None else None
    detector_calls_ms = list(getattr(networks, "detector_ms", []))
    per_person_ms = [ms / people for ms, people in getattr(networks, "landmark_ms", []) if people]
    return RunSummary(
        frames_in=video.frames_published, frames_detected=det.frames_processed,
        frames_dropped=video.frames_published - det.frames_processed, messages_3d=messages,
        skeletons_3d=recorder.skeletons_3d,
        fps=(messages - 1) / duration if duration > 0 else 0.0,
        latency_ms_p50=lat50, latency_ms_p95=lat95, detector_ms_p50=det50, detector_ms_p95=det95,
        people_per_frame=recorder.skeletons_3d / messages if messages else 0.0,
        person_detector_runs=len(detector_calls_ms), person_detector_ms_p50=_median(detector_calls_ms),
        landmark_ms_per_person_p50=_median(per_person_ms), problems=problems,
        latency_ms=[t * 1e3 for t in lift.latency_s], detector_ms=[t * 1e3 for t in det.detect_s],
    )
