"""pose3d-ros demo: run the whole graph on a video over real DDS; write a bag, an overlay video and a summary.

    pose3d-ros demo                      # the Sports2D demo video (two people walking)
    pose3d-ros demo --video my.mp4       # your own video
    pose3d-ros demo --camera 0           # a camera, until Ctrl-C or --max-frames

Detector and lifter run in processes of their own, as lift.launch.py starts them, while this process plays the
video and records and draws what comes out. A file of at most video_source's PRELOAD_MAX_FRAMES frames is
decoded before it plays, as a camera delivers its frames decoded: decoding and drawing in the same process as
the networks had left the detector a third of the demo's frames short (134 of 230 frames detected, against
226-230 so).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--video", default="", help="video file (default: the Sports2D demo video)")
    source.add_argument("--camera", help="camera index or device, e.g. 0 or /dev/video0")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/demo-<time>)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: the whole video)")
    parser.add_argument("--fov", type=float, default=60.0,
                        help="horizontal field of view of the video's camera, degrees (0: unknown)")
    parser.add_argument("--model", default="", help="lifter model: a file or a name in the package's weights folder, "
                        "e.g. ampose (default: the causal lifter)")
    parser.add_argument("--backend", default="auto", help="lifter runtime: auto, onnxruntime, tensorrt, ... (README)")
    parser.add_argument("--no-render", action="store_true", help="skip the overlay video and contact sheet")


def run(args: argparse.Namespace) -> int:
    from pose3d_ros.ros.session import run_pipeline
    from pose3d_ros.ros.video_source_node import PRELOAD_MAX_FRAMES, demo_video

    out = args.out or Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S")
    video = args.camera or args.video
    total = args.max_frames or None
    if not args.camera:
        path = args.video or str(demo_video())
        frames = int(cv2.VideoCapture(path).get(cv2.CAP_PROP_FRAME_COUNT))
        total = min(total or frames, frames) if frames > 0 else total
    preload = bool(total) and not args.camera and total <= PRELOAD_MAX_FRAMES
    summary = run_pipeline(
        out, source={"video": video, "max_frames": args.max_frames, "horizontal_fov_deg": args.fov,
                     "preload": preload},
        lifter={"model": args.model, "backend": args.backend}, render=not args.no_render, total_frames=total,
        layout="processes",
    )
    (out / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2))
    print(summary.table())
    print(f"\nwritten to {out}/: bag/ (MCAP: skeletons_2d, skeletons_3d, /tf, skeleton_markers, camera_info, "
          f"/diagnostics), {'' if args.no_render else 'overlay.mp4, contact_sheet.png, '}summary.json")
    return 0 if summary.skeletons_3d > 0 else 1
