"""pose3d-ros benchmark: pipeline throughput and latency on a video at 640x480, beside the detector alone.

Runs of the graph over real DDS on the same frames: the video at its own frame rate (can the pipeline keep
up, and how late is each 3D skeleton?) with detector and lifter in processes of their own (lift.launch.py's
default) and composed in one process on each rclpy executor, and at twice that rate (a pipeline that cannot
keep up must drop the oldest frames, never lag behind). In each run the detector
node also times the detector alone on every frame it processes. Frames are decoded before each run
(video_source ``preload``): a camera delivers them decoded, and decoding a 1768x994 H.264 video would
otherwise take CPU from the pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", default="", help="video file (default: the Sports2D demo video)")
    parser.add_argument("--max-frames", type=int, default=0, help="frames per run (0: the whole video)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/benchmark-<time>)")
    parser.add_argument("--model", default="", help="lifter model file (default: the package's causal model)")
    parser.add_argument("--record", action="store_true", help="also write each run's outputs to an MCAP bag, as "
                        "the demo does (its writing takes CPU from the graph; without it the runs' observer only "
                        "counts the 2D and 3D messages)")


def run(args: argparse.Namespace) -> int:
    from pose3d_ros.ros.session import run_pipeline
    from pose3d_ros.ros.video_source_node import demo_video

    out = args.out or Path("runs") / time.strftime("benchmark-%Y%m%d-%H%M%S")
    path = args.video or str(demo_video())
    capture = cv2.VideoCapture(path)
    frames, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), capture.get(cv2.CAP_PROP_FPS)
    total = min(args.max_frames or frames, frames)
    runs = {
        f"{fps:.0f} fps in (the video's rate), separate processes": ("processes", "single", fps),
        f"{fps:.0f} fps in, composed, single-threaded executor": ("composed", "single", fps),
        f"{fps:.0f} fps in, composed, multi-threaded executor": ("composed", "multi", fps),
        f"{2 * fps:.0f} fps in, separate processes": ("processes", "single", 2 * fps),
    }
    rows = {}
    for i, (name, (layout, executor, rate)) in enumerate(runs.items()):
        rows[name] = run_pipeline(
            out / f"run{i}", render=False, record=args.record, total_frames=total, executor=executor, layout=layout,
            source={"video": path, "width": 640, "height": 480, "max_frames": args.max_frames,
                    "fps": float(rate), "preload": True},
            lifter={"model": args.model},
        )
    print(f"\nPipeline on {Path(path).name}, 640x480, {platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
          "real DDS; separate processes: detector and lifter each in its own (as lift.launch.py starts them), "
          "composed: all in one (the pipeline executable)\n")
    print("| run | frames in | frames out | dropped | output FPS | people per frame | latency p50 ms "
          "| latency p95 ms | detector alone p50 ms | detector alone p95 ms | p95 latency / detector p95 "
          "| person-detector runs | person-detector ms p50 | landmarks ms per person p50 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, s in rows.items():
        print(f"| {name} | {s.frames_in} | {s.messages_3d} | {s.frames_dropped} | {s.fps:.1f} | "
              f"{s.people_per_frame:.2f} | {s.latency_ms_p50:.1f} | {s.latency_ms_p95:.1f} | {s.detector_ms_p50:.1f} | "
              f"{s.detector_ms_p95:.1f} | {s.latency_ms_p95 / s.detector_ms_p95:.2f} | {s.person_detector_runs} | "
              f"{s.person_detector_ms_p50:.1f} | {s.landmark_ms_per_person_p50:.1f} |")
    (out / "benchmark.json").write_text(json.dumps({k: v.as_dict() for k, v in rows.items()}, indent=2))
    print(f"\nwrote {plot_latencies(rows, out / 'latency.png')}")
    return 0


def plot_latencies(rows: dict, path: Path) -> Path:
    """Cumulative distributions of latency (image stamp -> 3D publish) and of the detector alone, per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    colors = plt.get_cmap("tab10").colors
    for color, (name, summary) in zip(colors, rows.items()):
        for values, style, what in ((summary.latency_ms, "-", "pipeline"), (summary.detector_ms, ":", "detector")):
            if values:
                x = np.sort(values)
                ax.plot(x, np.arange(1, len(x) + 1) / len(x), style, color=color, label=f"{what}: {name}")
    ax.axhline(0.95, color="grey", lw=0.8)
    ax.set_xscale("log")  # a starved run can be 50x slower than a healthy one
    ax.set_xlabel("ms (pipeline: image stamp -> 3D published; detector: detector call alone)")
    ax.set_ylabel("fraction of frames")
    ax.set_title("Latency, cumulative (the grey line is the 95th percentile)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
