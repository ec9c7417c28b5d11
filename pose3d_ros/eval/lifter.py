"""A lifter on the Pose2Sim recording, view by view, exactly as the ROS node runs it, beside MediaPipe's own 3D.

Each view's undistorted MediaPipe keypoints stream frame by frame through the keypoint stage's side-swap
guard and ``LiftStage`` (causal windows, lifter, camera-frame placement with that view's intrinsics), and the
camera-frame output is scored against the 4-view triangulated reference: P1, P2, acceleration error, root
translation error and size ratio. A lifter that reads image crops gets each view's video frames, undistorted
like its keypoints. With ``use_floor``, each view also knows the calibration's floor (world z = 0) below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from pose3d_ros.camera import CameraModel
from pose3d_ros.eval.baseline import ViewErrors, evaluate_view
from pose3d_ros.eval.metrics import root_error_mm, size_ratio
from pose3d_ros.eval.pose2sim import Pose2SimReference, view_frames
from pose3d_ros.floor import Floor
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift import LifterRuntime
from pose3d_ros.people import Person2D
from pose3d_ros.pipeline import LiftStage
from pose3d_ros.sides import SideSwapGuard


@dataclass(frozen=True)
class LiftedView:
    """One view's lifted skeletons, (F, 17, 3) metres in the camera frame (NaN where nobody was detected)."""

    joints_cam_m: np.ndarray
    errors: ViewErrors
    root_mm: np.ndarray  # (F,) distance between lifted and reference pelvis
    size_ratio: np.ndarray  # (F,) summed bone lengths over the reference's
    root_source: np.ndarray  # (F,) camera.ROOT_* of each frame, -1 where not lifted


def lift_sequence(lifter: LifterRuntime, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel,
                  fps: float, frames: Iterable[np.ndarray] | None = None, floor: Floor | None = None,
                  consistent_bones: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Stream one person's (F, 17, 2) keypoints and (F, 17) confidences, frame by frame at ``fps``, through a
    fresh side-swap guard and LiftStage (``consistent_bones`` as its option), as the nodes do, with the camera's
    ``floor`` if given; return (F, 17, 3)
    camera-frame joints, NaN where the person was not seen or not lifted, and (F,) root sources (camera.ROOT_*,
    -1 where not lifted).

    frames: the F images the keypoints come from, (H, W, 3) uint8 RGB of camera's size, in order (a generator
    is read one frame at a time); required by a lifter that reads image crops, ignored (not read) otherwise.
    Raises ValueError when such a lifter gets no frames, too few, or frames it cannot use.
    """
    images = None
    if lifter.crop_size:
        if frames is None:
            raise ValueError(f"this lifter reads {lifter.crop_size}x{lifter.crop_size} image crops; pass the "
                             "frames the keypoints come from")
        images = iter(frames)
    sides = SideSwapGuard(H36M17)
    stage = LiftStage(lifter, consistent_bones=consistent_bones)
    out = np.full((len(keypoints_px), 17, 3), np.nan, np.float32)
    sources = np.full(len(keypoints_px), -1)
    for f in range(len(keypoints_px)):
        rgb = None if images is None else next(images, None)
        if images is not None and rgb is None:
            raise ValueError(f"frames ended at frame {f}; expected one per keypoint frame ({len(keypoints_px)})")
        if not (confidence[f] > 0).any():
            continue
        kp, conf = sides.apply(1, keypoints_px[f], confidence[f])
        people, issues = stage.process(round(f * 1e9 / fps), [Person2D(1, kp, conf, 1.0, np.zeros(4))], camera,
                                       rgb=rgb, floor=floor)
        image_issues = [i.message for i in issues if i.kind.startswith("image_")]
        if image_issues:
            raise ValueError(f"frame {f}: {image_issues[0]}")
        if people:
            out[f], sources[f] = people[0].joints_cam_m, people[0].root_source
    return out, sources


def lift_view(reference: Pose2SimReference, view: int, lifter: LifterRuntime, use_floor: bool = False,
              consistent_bones: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lift view ``view`` of ``reference`` on its own (lift_sequence), with the calibration's floor if
    ``use_floor``; return (F, 17, 3) camera-frame joints and (F,) root sources. A lifter that reads image crops
    also gets the view's undistorted video frames (pose2sim.view_frames)."""
    width, height = (int(x) for x in reference.image_size[view])
    camera = CameraModel(reference.K[view], width, height)
    frames = view_frames(reference.names[view]) if lifter.crop_size else None
    return lift_sequence(lifter, reference.keypoints_px[view], reference.confidence[view], camera, reference.fps,
                         frames, reference.floor(view) if use_floor else None, consistent_bones)


def evaluate_lifter(reference: Pose2SimReference, lifter: LifterRuntime, use_floor: bool = False,
                    consistent_bones: bool = False) -> list[LiftedView]:
    """Lift every view of ``reference`` (with its floor if ``use_floor``) and score it against the reference in
    that view's camera frame."""
    views = []
    for v in range(len(reference.names)):
        joints, sources = lift_view(reference, v, lifter, use_floor, consistent_bones)
        ref = reference.reference_cam_m[v]
        views.append(LiftedView(joints, evaluate_view(joints, ref), root_error_mm(joints, ref),
                                size_ratio(joints, ref, H36M17.bones), sources))
    return views


def comparison_table(reference: Pose2SimReference, lifted: list[LiftedView], mediapipe: list[ViewErrors],
                     name: str) -> str:
    """Markdown: per view, P1 / P2 / acceleration error of the lifter and of MediaPipe, and the lifter's root error."""
    lines = [f"| view | {name} P1 | {name} P2 | {name} accel | {name} root | MediaPipe P1 | MediaPipe P2 "
             "| MediaPipe accel |", "|---|---|---|---|---|---|---|---|"]
    rows = []
    for view, lift, mp in zip(reference.names, lifted, mediapipe):
        row = [np.nanmean(lift.errors.p1_mm), np.nanmean(lift.errors.p2_mm), np.nanmean(lift.errors.accel_mm),
               np.nanmean(lift.root_mm), np.nanmean(mp.p1_mm), np.nanmean(mp.p2_mm), np.nanmean(mp.accel_mm)]
        rows.append(row)
        lines.append(f"| {view} | " + " | ".join(f"{x:.1f}" for x in row) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{x:.1f}**" for x in np.mean(rows, axis=0)) + " |")
    return "\n".join(lines)
