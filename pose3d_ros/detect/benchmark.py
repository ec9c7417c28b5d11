"""Per-frame latency of a detector on a video, letterboxed to a fixed size; prints a table.

    python -m pose3d_ros.detect.benchmark --video demo.mp4 --width 640 --height 480

Timing covers ``detect`` only (not decoding or resizing), one thread of the caller, wall clock.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from pose3d_ros.detect import make_detector
from pose3d_ros.image import letterbox


def read_letterboxed(video: str, width: int, height: int, max_frames: int) -> tuple[list[np.ndarray], float, float]:
    """Return the video's first ``max_frames`` frames letterboxed to RGB ``width`` x ``height``, the scale, and fps."""
    capture = cv2.VideoCapture(video)
    if not capture.isOpened():
        raise SystemExit(f"cannot open video '{video}'")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames, scale = [], 1.0
    while len(frames) < max_frames:
        ok, bgr = capture.read()
        if not ok:
            break
        boxed = letterbox(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), width, height)
        frames.append(boxed.image)
        scale = boxed.scale
    capture.release()
    return frames, scale, fps


def time_detector(name: str, frames: list[np.ndarray], fps: float, **options: object) -> tuple[np.ndarray, int]:
    """Run a fresh detector over ``frames``; return per-frame latency in ms and how many frames had a person."""
    detector = make_detector(name, **options)
    latencies_ms, found = [], 0
    try:
        for i, rgb in enumerate(frames):
            start = time.perf_counter()
            people = detector.detect(rgb, stamp_ns=round(i * 1e9 / fps))
            latencies_ms.append((time.perf_counter() - start) * 1e3)
            found += bool(people)
    finally:
        detector.close()
    return np.asarray(latencies_ms), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", required=True)
    parser.add_argument("--detector", default="mediapipe")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=230)
    parser.add_argument("--warmup", type=int, default=5, help="leading frames left out of the statistics")
    args = parser.parse_args()

    frames, scale, fps = read_letterboxed(args.video, args.width, args.height, args.frames)
    print(f"{len(frames)} frames letterboxed to {args.width}x{args.height} (scale {scale:.4f}), "
          f"first {args.warmup} left out")
    print(f"| {'mode':<22} | median ms | p95 ms | max ms | frames with a person |")
    print(f"|{'-' * 24}|-----------|--------|--------|----------------------|")
    for mode, options in (("tracking", {}), ("still image", {"static_image_mode": True})):
        latencies_ms, found = time_detector(args.detector, frames, fps, **options)
        steady = latencies_ms[args.warmup:]
        label = f"{args.detector} {mode}"
        print(f"| {label:<22} | {np.median(steady):9.1f} | {np.percentile(steady, 95):6.1f} "
              f"| {steady.max():6.1f} | {found:>4d} / {len(frames):<13d} |")


if __name__ == "__main__":
    main()
