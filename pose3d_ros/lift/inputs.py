"""Lifter input normalisation, shared by training and every runtime backend.

Pixels become intrinsics-normalised image coordinates ((u - cx) / fx, (v - cy) / fy): they do not depend on
the camera's resolution or focal length, so a model trained with random virtual cameras works on any
calibrated camera (VideoPose3D's screen normalisation bakes the training camera's field of view in).
The window is then centred on the newest frame's pelvis and divided by the person's mean 2D spread, so
distance from the camera only changes the input through perspective and through scale changes over time.
"""

from __future__ import annotations

import numpy as np

NORMALISATION = "intrinsics_root_scale_v1"
MIN_CONFIDENCE = 1e-3  # joints below this are treated as missing: coordinates zeroed, confidence 0


def normalize_window(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Turn pixel keypoint windows into lifter input.

    keypoints_px: (P, T, J, 2) pixels, joint 0 = pelvis; confidence: (P, T, J) in [0, 1];
    K: (3, 3) intrinsics, or (P, 3, 3) one per window.
    Returns (P, T, J, 3) float32 [x, y, confidence]; missing joints are (0, 0, 0).
    """
    K = np.asarray(K, dtype=np.float64)
    K = np.broadcast_to(K, (keypoints_px.shape[0], 3, 3))
    focal = K[:, None, None, [0, 1], [0, 1]]
    centre = K[:, None, None, [0, 1], [2, 2]]
    xy = (keypoints_px.astype(np.float64) - centre) / focal
    valid = confidence >= MIN_CONFIDENCE
    weight = valid.astype(np.float64)

    # Centre: newest frame's pelvis, or the mean of its visible joints when the pelvis is missing.
    newest, newest_w = xy[:, -1], weight[:, -1, :, None]
    mean_visible = (newest * newest_w).sum(1) / np.maximum(newest_w.sum(1), 1.0)
    root = np.where(newest_w[:, 0] > 0, newest[:, 0], mean_visible)
    xy = xy - root[:, None, None, :]

    # Scale: per-frame RMS distance of visible joints from their mean, averaged over frames with >= 2 joints.
    count = weight.sum(-1)
    frame_mean = (xy * weight[..., None]).sum(2) / np.maximum(count, 1.0)[..., None]
    spread_sq = (((xy - frame_mean[:, :, None]) ** 2).sum(-1) * weight).sum(-1) / np.maximum(count, 1.0)
    usable = count >= 2
    scale = np.sqrt((spread_sq * usable).sum(1) / np.maximum(usable.sum(1), 1))
    xy = xy / np.maximum(scale, 1e-6)[:, None, None, None]

    out = np.concatenate([xy * weight[..., None], (confidence * valid)[..., None]], axis=-1)
    return out.astype(np.float32)
