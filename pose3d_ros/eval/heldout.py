"""The lifter on held-out motion capture, streamed through the node's code path from fixed virtual cameras.

Complements the Pose2Sim recording, whose reference is triangulated from a detector: here the 3D truth is
motion capture the model never trained on, so the error of the lifter and the camera placement is measured on
its own. The sequence is sampled at ``fps`` and cut into segments of ``segment_s``; each segment is seen by a
seeded random camera of the training distribution aimed at it (one camera would lose a climber who walks off),
with exact 2D or detector-like noise, and lifted frame by frame as a new track (eval.lifter.lift_sequence).
Frames where a joint leaves the image or comes nearer than 0.5 m are not scored. Motion capture has no images,
so a lifter that reads image crops is not scored here (NaN, with a note saying why).
"""

from __future__ import annotations

import numpy as np

from pose3d_ros.camera import CameraModel
from pose3d_ros.data import mocap
from pose3d_ros.data.augment import AugmentConfig, detector_noise, project, random_cameras, to_camera
from pose3d_ros.eval.baseline import evaluate_view
from pose3d_ros.eval.lifter import lift_sequence
from pose3d_ros.eval.metrics import root_error_mm
from pose3d_ros.lift import LifterRuntime


def evaluate_heldout(lifter: LifterRuntime, sequence: int = 4, fps: float = 30.0, segment_s: float = 4.0,
                     noisy: bool = True, seed: int = 0) -> dict[str, float | int | str]:
    """Mean P1, P2 (mm), acceleration error (mm/frame^2) and root error (mm) over the scored frames of the
    held-out climb ``sequence`` (see pose3d_ros.data.mocap), and how many frames were scored. For a lifter
    that reads image crops the errors are NaN, no frame is scored, and "note" says why."""
    if getattr(lifter, "crop_size", 0):
        nan = float("nan")
        return {"p1_mm": nan, "p2_mm": nan, "accel_mm": nan, "root_mm": nan, "frames_scored": 0, "frames": 0,
                "note": "no images for motion capture: this lifter reads image crops"}
    world = mocap.load_sequence(mocap.find_sequences()[sequence])[:: round(mocap.MOCAP_FPS / fps)]
    length = round(segment_s * fps)
    segments = world[: len(world) // length * length].reshape(-1, length, *world.shape[1:])
    rng = np.random.default_rng(seed)
    K, R, centre, sizes = random_cameras(rng, segments, AugmentConfig())
    truth_cam_m = to_camera(segments, R, centre)
    keypoints_px = project(truth_cam_m, K)
    confidence = np.ones(keypoints_px.shape[:-1], np.float32)
    if noisy:
        keypoints_px, confidence = detector_noise(rng, keypoints_px, AugmentConfig())
    visible = ((truth_cam_m[..., 2] > 0.5).all(-1) & (keypoints_px >= 0).all((-1, -2))
               & (keypoints_px < sizes[:, None, None, :]).all((-1, -2)))
    lifted = np.stack([
        lift_sequence(lifter, keypoints_px[s].astype(np.float32), confidence[s],
                      CameraModel(K[s], int(sizes[s][0]), int(sizes[s][1])), fps)
        for s in range(len(segments))])
    lifted[~visible] = np.nan
    errors = [evaluate_view(lifted[s], truth_cam_m[s]) for s in range(len(segments))]
    root = np.concatenate([root_error_mm(lifted[s], truth_cam_m[s]) for s in range(len(segments))])
    return {"p1_mm": float(np.nanmean(np.concatenate([e.p1_mm for e in errors]))),
            "p2_mm": float(np.nanmean(np.concatenate([e.p2_mm for e in errors]))),
            "accel_mm": float(np.nanmean(np.concatenate([e.accel_mm for e in errors]))),
            "root_mm": float(np.nanmean(root)), "frames_scored": int(visible.sum()), "frames": int(visible.size)}
