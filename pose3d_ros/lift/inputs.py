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
    Returns (P, T, J, 3) float32 [x, y, confidence]; missing joints (confidence below MIN_CONFIDENCE or a
    non-finite coordinate) are (0, 0, 0).
    """
    return _normalize(keypoints_px, confidence, K)[0]


def window_frame(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where normalize_window puts each window's origin and unit: (centre (P, 2) in intrinsics-normalised
    image coordinates, scale (P,) in the same units). Normalised x = (intrinsics-normalised x - centre) / scale."""
    _, centre, scale = _normalize(keypoints_px, confidence, K)
    return centre, scale


def _normalize(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, t, j, _ = keypoints_px.shape
    K = np.broadcast_to(np.asarray(K, dtype=np.float32), (p, 3, 3))[:, :, :, None, None]
    # x and y as separate (P, T, J) planes: numpy is several times slower over a trailing axis of 2.
    u, v = np.moveaxis(keypoints_px, -1, 0)
    # Non-finite keypoints count as missing whatever their confidence: one NaN must not spoil the window.
    valid = (confidence >= MIN_CONFIDENCE) & np.isfinite(u) & np.isfinite(v)
    x = np.where(valid, (u - K[:, 0, 2]) / K[:, 0, 0], 0.0).astype(np.float32)
    y = np.where(valid, (v - K[:, 1, 2]) / K[:, 1, 1], 0.0).astype(np.float32)
    weight = valid.astype(np.float32)

    # Scale: per-frame RMS distance of visible joints from their mean, averaged over frames with >= 2 joints.
    count = weight.sum(-1)
    inv_count = 1.0 / np.maximum(count, 1.0)
    wx, wy = weight * x, weight * y
    mean_x, mean_y = wx.sum(-1) * inv_count, wy.sum(-1) * inv_count
    spread_sq = (wx * x + wy * y).sum(-1) * inv_count - mean_x**2 - mean_y**2
    usable = count >= 2
    scale = np.sqrt(np.maximum((spread_sq * usable).sum(1), 0.0) / np.maximum(usable.sum(1), 1))

    # Centre: newest frame's pelvis, or the mean of its visible joints when the pelvis is missing.
    pelvis_seen = valid[:, -1, 0]
    root_x = np.where(pelvis_seen, x[:, -1, 0], mean_x[:, -1])[:, None, None]
    root_y = np.where(pelvis_seen, y[:, -1, 0], mean_y[:, -1])[:, None, None]

    gain = weight / np.maximum(scale, 1e-6)[:, None, None]
    out = np.empty((p, t, j, 3), np.float32)
    out[..., 0] = (x - root_x) * gain
    out[..., 1] = (y - root_y) * gain
    out[..., 2] = np.where(valid, confidence, 0.0)
    return out, np.concatenate([root_x[:, 0], root_y[:, 0]], axis=1), scale
