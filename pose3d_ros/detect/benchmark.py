"""Per-frame latency of the 2D detectors on a video, letterboxed to a fixed size; prints a table.

    python -m pose3d_ros.detect.benchmark                       # the demo video at 640x480
    python -m pose3d_ros.detect.benchmark --video my.mp4 --width 1280 --height 720

Rows: blazepose on ONNX Runtime with one and with two single-threaded sessions per network (people and tiles
split between them), and MediaPipe's own one-person API in its tracking and still-image modes. Timing covers
``detect`` only (not decoding or resizing), wall clock.
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


ROWS = {
    "blazepose, 1 session per network": ("blazepose", {"backend": "onnxruntime", "workers": 1}),
    "blazepose, 2 sessions per network": ("blazepose", {"backend": "onnxruntime", "workers": 2}),
    "mediapipe_legacy tracking": ("mediapipe_legacy", {}),
    "mediapipe_legacy still image": ("mediapipe_legacy", {"static_image_mode": True}),
}


def time_detector(name: str, frames: list[np.ndarray], fps: float, **options: object) -> tuple[np.ndarray, int]:
    """Run a fresh detector over ``frames``; return per-frame latency in ms and the people found in all."""
    detector = make_detector(name, **options)
    latencies_ms, people = [], 0
    try:
        for i, rgb in enumerate(frames):
            start = time.perf_counter()
            people += len(detector.detect(rgb, stamp_ns=round(i * 1e9 / fps)))
            latencies_ms.append((time.perf_counter() - start) * 1e3)
    finally:
        detector.close()
    return np.asarray(latencies_ms), people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", default="", help="video file (default: the Sports2D demo video)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=230)
    parser.add_argument("--warmup", type=int, default=5, help="leading frames left out of the statistics")
    args = parser.parse_args()

    if not args.video:
        from pose3d_ros.ros.video_source_node import demo_video

        args.video = str(demo_video())
    frames, scale, fps = read_letterboxed(args.video, args.width, args.height, args.frames)
    print(f"{len(frames)} frames letterboxed to {args.width}x{args.height} (scale {scale:.4f}), "
          f"first {args.warmup} left out of the times")
    width = max(map(len, ROWS))
    print(f"| {'detector':<{width}} | median ms | p95 ms | max ms | people per frame |")
    print(f"|{'-' * (width + 2)}|-----------|--------|--------|------------------|")
    for label, (name, options) in ROWS.items():
        latencies_ms, people = time_detector(name, frames, fps, **options)
        steady = latencies_ms[args.warmup:]
        print(f"| {label:<{width}} | {np.median(steady):9.1f} | {np.percentile(steady, 95):6.1f} "
              f"| {steady.max():6.1f} | {people / len(frames):16.2f} |")


if __name__ == "__main__":
    main()
