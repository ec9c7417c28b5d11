"""Latency compensation against the real future: is the predicted pose closer to where the person will be?

For each frame, a pose is predicted ``lookahead_s`` ahead from the lifted poses up to that frame
(MotionExtrapolator, exactly as the lifter node does) and compared with the reference ``lookahead_s``
later, beside the pose held as it is (what every other ROS package publishes). Errors are absolute joint
positions in the camera frame, in mm: a robot reaching for a hand needs the hand, not its pose relative
to the pelvis.
"""

from __future__ import annotations

import numpy as np

from pose3d_ros.eval.metrics import MM_PER_M
from pose3d_ros.predict import MotionExtrapolator


def lookahead_errors(joints_cam_m: np.ndarray, ref_cam_m: np.ndarray, fps: float, lookahead_s: float,
                     history: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Mean joint error (mm) per frame of the held pose and of the predicted pose, each against the reference
    ``lookahead_s`` later. joints_cam_m, ref_cam_m: (F, J, 3), NaN where missing. Returns two (F,) arrays,
    NaN where either side is missing."""
    ahead = round(lookahead_s * fps)
    motion = MotionExtrapolator(history=history, max_gap_s=0.5)
    held = np.full(len(joints_cam_m), np.nan)
    predicted = np.full(len(joints_cam_m), np.nan)
    for f in range(len(joints_cam_m) - ahead):
        if not np.isfinite(joints_cam_m[f]).all():
            continue
        motion.update(1, round(f * 1e9 / fps), joints_cam_m[f])
        future = ref_cam_m[f + ahead]
        known = np.isfinite(future).all(axis=-1)
        if known.any():
            held[f] = np.linalg.norm(joints_cam_m[f][known] - future[known], axis=-1).mean() * MM_PER_M
            guess = motion.predict(1, ahead / fps)[known]
            predicted[f] = np.linalg.norm(guess - future[known], axis=-1).mean() * MM_PER_M
    return held, predicted
