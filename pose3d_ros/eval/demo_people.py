"""Every person in the demo video: the 2D front end's tracks scored against the by-eye reference.

The Sports2D demo video goes through ``KeypointStage`` (detector + tracker) frame by frame, letterboxed to
640x480 exactly as the demo's video source publishes it; each frame's tracked people are scored against
``test/data/sports2d_demo_people.csv`` (eval/multiperson.py): share of visible person-frames found,
duplicates, false positives, id switches, fragmentations.

    python -m pose3d_ros.eval.demo_people --detector blazepose
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
from tqdm import tqdm

from pose3d_ros.eval.multiperson import MultiPersonScore, load_reference, score_tracks
from pose3d_ros.image import letterbox

REFERENCE = Path(__file__).resolve().parents[2] / "test" / "data" / "sports2d_demo_people.csv"
WIDTH, HEIGHT = 640, 480


def track_video(video: Path, detector: str = "blazepose", **options) -> tuple[list, float, tuple[int, int]]:
    """Each frame's ``(track_id, bbox_px)`` pairs from KeypointStage on ``video`` letterboxed to 640x480, the
    letterbox scale and offset (px)."""
    from pose3d_ros.detect import make_detector
    from pose3d_ros.pipeline import KeypointStage

    stage = KeypointStage(make_detector(detector, **options))
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    predictions, scale, offset = [], 1.0, (0, 0)
    try:
        for index in tqdm(range(frames), desc=f"{detector} on {video.name}", unit="frame"):
            ok, bgr = capture.read()
            if not ok:
                break
            boxed = letterbox(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), WIDTH, HEIGHT)
            scale, offset = boxed.scale, boxed.offset_px
            people, _ = stage.process(boxed.image, round(index * 1e9 / fps))
            predictions.append([(p.track_id, p.bbox_px) for p in people])
    finally:
        capture.release()
        stage.detector.close()
    return predictions, scale, offset


def evaluate_demo(detector: str = "blazepose", reference: Path = REFERENCE, **options) -> MultiPersonScore:
    """Track the demo video with ``detector`` and score it against the by-eye reference."""
    from pose3d_ros.ros.video_source_node import demo_video

    predictions, scale, offset = track_video(demo_video(), detector, **options)
    return score_tracks(load_reference(reference), predictions, (scale, scale), offset)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="blazepose", help="blazepose or mediapipe_legacy")
    parser.add_argument("--backend", default="onnxruntime", help="blazepose runtime (auto, onnxruntime, ...)")
    args = parser.parse_args(argv)
    options = {"backend": args.backend} if args.detector == "blazepose" else {}
    print(evaluate_demo(args.detector, **options).table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
