"""pose3d-ros soak: hours of running in minutes: the composed graph on a looping video, memory and latency over time.

Runs video_source (looping, frames decoded beforehand), keypoint_detector and lifter in one process over real
DDS, as in `pose3d-ros benchmark`, for ``--minutes`` (or until ``--max-frames`` frames were published), and
prints one row per window: frames in, frames the detector replaced with a newer one before taking them
(newest frame wins), 3D messages, RSS at the window's end, latency p50/p95/max (image stamp -> 3D published),
and the detector alone's p95 on the same frames with the ratio of the two: a latency that grows while the
detector's own time does not is the graph drifting; both growing is the machine.
The summary gives RSS at start (graph up, frames decoded, the first one published), after warm-up, in the
middle and at the end, and the growth after warm-up. A plot of RSS and latency over time goes to the output folder.

  pose3d-ros soak                                   # 30 minutes at the video's rate (30 fps: ~54,000 frames)
  pose3d-ros soak --minutes 1 --fps 90 --window-minutes 0.25   # overload: 90 fps in for a minute

Frames come at a camera's pace, never back to back: in one process a source publishing decoded frames as fast
as it can would take the CPU from the pipeline it feeds and measure itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Window:
    """What happened in one window of the run."""

    end_s: float            # seconds since the first frame
    frames_in: int          # published by the video source
    frames_taken: int       # processed by the detector
    replaced: int           # replaced in the detector's one-frame slot by a newer frame before it was taken
    messages_3d: int
    rss_mb: float           # at the window's end
    latency_ms: list[float] = field(repr=False)
    detector_ms: list[float] = field(repr=False)  # the detector alone on the window's frames: how busy the CPU was

    def row(self) -> str:
        p50, p95 = np.percentile(self.latency_ms, [50, 95]) if self.latency_ms else (float("nan"),) * 2
        top = max(self.latency_ms, default=float("nan"))
        detector = np.percentile(self.detector_ms, 95) if self.detector_ms else float("nan")
        return (f"| {self.end_s / 60:.1f} | {self.frames_in} | {self.frames_taken} | {self.replaced} | "
                f"{self.messages_3d} | {self.rss_mb:.0f} | {p50:.1f} | {p95:.1f} | {top:.1f} | {detector:.1f} | "
                f"{p95 / detector:.2f} |")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default: 30)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames in (0: no limit)")
    parser.add_argument("--fps", type=float, default=0.0, help="frames per second in (default 0: the video's own rate)")
    parser.add_argument("--window-minutes", type=float, default=5.0, help="length of one row (default: 5)")
    parser.add_argument("--warmup-minutes", type=float, default=1.0,
                        help="memory growth is measured from the end of this (default: 1)")
    parser.add_argument("--video", default="", help="video file (default: the Sports2D demo video)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/soak-<time>)")


def rss_mb() -> float:
    """Resident memory of this process (the whole composed graph) in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _new_ms(seconds: deque[float], total: int, read: int) -> tuple[list[float], int]:
    """The entries of a bounded deque of seconds that ``total`` appends have added since ``read`` of them were
    read, in ms, and the new count read."""
    new = total - read
    return ([s * 1e3 for s in list(seconds)[-new:]] if new else []), total


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pose3d_ros.ros.session import composed_graph, wait_for_graph
    from pose3d_ros.ros.video_source_node import demo_video

    if args.minutes <= 0 or args.window_minutes <= 0 or args.fps < 0:
        raise SystemExit(f"--minutes {args.minutes}, --window-minutes {args.window_minutes}, --fps {args.fps}: "
                         "expected positive minutes and fps >= 0")
    out = args.out or Path("runs") / time.strftime("soak-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    video_path = args.video or str(demo_video())
    source = {"video": video_path, "width": 640, "height": 480, "loop": True, "preload": True,
              "max_frames": args.max_frames, "fps": args.fps}
    duration_s, window_s = args.minutes * 60, args.window_minutes * 60
    windows: list[Window] = []
    trace: list[tuple[float, float, float]] = []  # (seconds, RSS MiB, latency p95 ms of the last 10 s)
    with composed_graph(source) as (video, det, lift):
        wait_for_graph(lambda: video.image_pub.get_subscription_count() >= 1
                       and det.skeletons_pub.get_subscription_count() >= 1, 30.0)
        video_fps = video.source_fps
        video.start()
        while video.frames_published == 0 and not video.finished.is_set():  # preloading
            time.sleep(0.01)
        t0 = time.monotonic()  # the clock and the first RSS start with the first frame
        rss_start = rss_mb()
        start = {"in": 0, "taken": 0, "replaced": 0, "3d": 0}  # counters at the window's start
        latencies_read = detections_read = 0
        window_latency: list[float] = []
        window_detector: list[float] = []
        recent: list[float] = []
        rss_warm = None
        next_trace = 10.0
        with tqdm(total=round(duration_s), unit="s", desc="soak") as bar:
            while time.monotonic() - t0 < duration_s and not video.finished.is_set():
                time.sleep(1.0)
                elapsed = time.monotonic() - t0
                bar.update(min(round(elapsed), round(duration_s)) - bar.n)
                fresh, latencies_read = _new_ms(lift.latency_s, lift.messages_published, latencies_read)
                window_latency += fresh
                detector, detections_read = _new_ms(det.detect_s, det.frames_processed, detections_read)
                window_detector += detector
                recent += fresh
                if rss_warm is None and elapsed >= args.warmup_minutes * 60:
                    rss_warm = rss_mb()
                if elapsed >= next_trace:
                    trace.append((elapsed, rss_mb(), float(np.percentile(recent, 95)) if recent else float("nan")))
                    recent, next_trace = [], next_trace + 10.0
                if elapsed >= (len(windows) + 1) * window_s or elapsed >= duration_s or video.finished.is_set():
                    now = {"in": video.frames_published, "taken": det.frames_processed,
                           "replaced": det.frames_dropped, "3d": latencies_read}
                    windows.append(Window(elapsed, *(now[k] - start[k] for k in now), rss_mb(), window_latency,
                                          window_detector))
                    start, window_latency, window_detector = now, [], []
        rss_end = rss_mb()
        problems = {f"{node.get_name()}/{k}": v for node in (det, lift) for k, v in node.health.counts.items()}
        lost_in_dds = video.frames_published - det.frames_received
    rss_warm = rss_warm if rss_warm is not None else rss_start
    rss_middle = min(trace, key=lambda t: abs(t[0] - trace[-1][0] / 2))[1] if trace else rss_end
    growth = 100 * (rss_end - rss_warm) / rss_warm
    p95s = [np.percentile(w.latency_ms, 95) for w in windows if w.latency_ms]
    rate = f"{args.fps or video_fps:.0f} fps in"
    print(f"\nSoak: {Path(video_path).name} looping at 640x480, {rate}, {platform.machine()}, "
          f"{len(os.sched_getaffinity(0))} cores; composed graph in one process, real DDS\n")
    print("| minutes | frames in | frames detected | replaced by a newer frame | 3D messages | RSS MiB "
          "| latency p50 ms | latency p95 ms | latency max ms | detector alone p95 ms | p95 latency / detector p95 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for w in windows:
        print(w.row())
    summary = {
        "frames in": sum(w.frames_in for w in windows), "frames detected": sum(w.frames_taken for w in windows),
        "replaced by a newer frame": sum(w.replaced for w in windows),
        "lost on the way (DDS best effort)": lost_in_dds, "3D messages": sum(w.messages_3d for w in windows),
        "RSS start MiB": f"{rss_start:.0f}", f"RSS after {args.warmup_minutes:g} min warm-up MiB": f"{rss_warm:.0f}",
        "RSS middle MiB": f"{rss_middle:.0f}", "RSS end MiB": f"{rss_end:.0f}",
        "RSS growth after warm-up": f"{growth:+.1f}%",
        "latency p95, last window / first window": f"{p95s[-1] / p95s[0]:.2f}" if p95s else "n/a",
    } | {f"problems: {k}": v for k, v in sorted(problems.items())}
    print()
    for k, v in summary.items():
        print(f"| {k} | {v} |")
    (out / "soak.json").write_text(json.dumps({"windows": [asdict(w) for w in windows], "summary": summary,
                                               "trace": trace}, indent=1))
    print(f"\nwrote {plot(trace, out / 'soak.png', rate)}")
    return 0


def plot(trace: list[tuple[float, float, float]], path: Path, rate: str) -> Path:
    """RSS and latency p95 (per 10 s) against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, lat) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    minutes = [t / 60 for t, _, _ in trace]
    mem.plot(minutes, [r for _, r, _ in trace])
    mem.set_ylabel("RSS (MiB)")
    mem.set_ylim(bottom=0)
    lat.plot(minutes, [p for _, _, p in trace])
    lat.set_ylabel("latency p95 per 10 s (ms)")
    lat.set_ylim(bottom=0)
    lat.set_xlabel("minutes")
    mem.set_title(f"Soak, {rate}: memory and latency over time")
    for ax in (mem, lat):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
