"""Multi-view triangulation of keypoints by confidence-weighted DLT, with one robust view-dropping step, and
frame offsets between views that were not started together.

Cameras are pinhole (undistort keypoints first): K (V, 3, 3), and world->camera R (V, 3, 3), t (V, 3) in
metres, so ``x_cam = R @ x_world + t``. The DLT runs in normalised image coordinates (K^-1 applied), which
keeps its linear system well conditioned without a separate normalisation.
"""

from __future__ import annotations

import numpy as np

MIN_CONFIDENCE = 0.5
# A view this far off is a wrong detection (left/right swap, a limb on the wrong person part), not noise:
# MediaPipe's cross-view disagreement on a ~750 px tall person is ~10 px.
MAX_REPROJECTION_PX = 30.0


def project(points_world_m: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Pixels of (N, 3) world points in each of V pinhole cameras: (V, N, 2); NaN stays NaN."""
    cam = np.einsum("vij,nj->vni", R, points_world_m) + t[:, None, :]
    px = np.einsum("vij,vnj->vni", K, cam)
    return px[..., :2] / px[..., 2:3]


def reprojection_error_px(points_world_m: np.ndarray, keypoints_px: np.ndarray, K: np.ndarray, R: np.ndarray,
                          t: np.ndarray) -> np.ndarray:
    """Distance (V, N) between the projections of (N, 3) points and the (V, N, 2) keypoints."""
    return np.linalg.norm(project(points_world_m, K, R, t) - keypoints_px, axis=-1)


def triangulate(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray,
                min_confidence: float = MIN_CONFIDENCE) -> np.ndarray:
    """Confidence-weighted DLT of N points seen by V cameras.

    keypoints_px: (V, N, 2) pinhole pixels; confidence: (V, N). A view takes part in a point where its
    confidence >= min_confidence (and its keypoint is finite), its two DLT rows scaled by that confidence.
    Returns (N, 3) world points in metres, NaN where fewer than two views take part.
    """
    used = (confidence >= min_confidence) & np.isfinite(keypoints_px).all(axis=-1)
    weight = np.where(used, confidence, 0.0)
    homogeneous = np.concatenate([np.nan_to_num(keypoints_px), np.ones(keypoints_px.shape[:-1] + (1,))], axis=-1)
    normalised = np.einsum("vij,vnj->vni", np.linalg.inv(K), homogeneous)
    P = np.concatenate([R, t[:, :, None]], axis=2)  # (V, 3, 4)
    rows_x = normalised[..., 0:1] * P[:, None, 2, :] - P[:, None, 0, :]  # (V, N, 4)
    rows_y = normalised[..., 1:2] * P[:, None, 2, :] - P[:, None, 1, :]
    A = np.concatenate([rows_x, rows_y], axis=0) * np.concatenate([weight, weight], axis=0)[..., None]
    _, _, vt = np.linalg.svd(A.transpose(1, 0, 2))  # (N, 2V, 4) -> null vector in vt[:, -1]
    X = vt[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        points = X[:, :3] / X[:, 3:4]
    points[used.sum(axis=0) < 2] = np.nan
    return points


def triangulate_robust(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray, R: np.ndarray,
                       t: np.ndarray, min_confidence: float = MIN_CONFIDENCE,
                       max_error_px: float = MAX_REPROJECTION_PX) -> tuple[np.ndarray, np.ndarray]:
    """``triangulate``, then, for points seen by >= 3 views of which one reprojects more than max_error_px
    away, drop one view: the one whose removal leaves the smallest worst reprojection error among the others.

    (Dropping the view with the largest error instead fails with 3 views: one wrong detection drags the point
    so far that a correct view gets the largest error.) Returns (points (N, 3) metres, NaN where not
    triangulable; used (V, N) bool, the views kept).
    """
    used = (confidence >= min_confidence) & np.isfinite(keypoints_px).all(axis=-1)
    points = triangulate(keypoints_px, confidence, K, R, t, min_confidence)
    error = np.where(used, reprojection_error_px(points, keypoints_px, K, R, t), -np.inf)
    redo = np.flatnonzero((used.sum(axis=0) >= 3) & (error.max(axis=0) > max_error_px))
    if redo.size:
        kp, conf, kept = keypoints_px[:, redo], np.where(used, confidence, 0.0)[:, redo], used[:, redo]
        best_error = np.full(redo.size, np.inf)
        best_drop = np.zeros(redo.size, dtype=int)
        best_points = points[redo]
        for drop in range(len(K)):
            others = kept.copy()
            others[drop] = False
            candidate = triangulate(kp, np.where(others, conf, 0.0), K, R, t, min_confidence)
            worst = np.where(others, reprojection_error_px(candidate, kp, K, R, t), -np.inf).max(axis=0)
            better = kept[drop] & (worst < best_error)
            best_error[better], best_drop[better], best_points[better] = worst[better], drop, candidate[better]
        dropped = np.isfinite(best_error)
        used[best_drop[dropped], redo[dropped]] = False
        points[redo] = best_points
    used &= np.isfinite(points).all(axis=-1)[None]
    return points, used


def shift_frames(x: np.ndarray, offsets: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """(V, F, ...) per-view series re-indexed so that ``out[v, f] = x[v, f + offsets[v]]`` (``fill`` outside)."""
    out = np.full_like(x, fill, dtype=np.float64)
    frames = x.shape[1]
    for v, offset in enumerate(offsets):
        lo, hi = max(0, -offset), min(frames, frames - offset)
        if lo < hi:
            out[v, lo:hi] = x[v, lo + offset:hi + offset]
    return out


def estimate_frame_offsets(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray, R: np.ndarray,
                           t: np.ndarray, max_offset: int = 10, min_confidence: float = MIN_CONFIDENCE) -> np.ndarray:
    """Integer frame offsets (V,) that synchronise each view with view 0 (offsets[0] = 0).

    keypoints_px: (V, F, J, 2) pinhole pixels; confidence: (V, F, J). For each view, the shift s in
    [-max_offset, max_offset] minimising the median two-view reprojection error against view 0 over all
    joints and overlapping frames; view v's frame f + offsets[v] is then simultaneous with view 0's frame f.
    """
    V, F = confidence.shape[:2]
    offsets = np.zeros(V, dtype=int)
    for v in range(1, V):
        pair = [0, v]
        best = np.inf
        for shift in range(-max_offset, max_offset + 1):
            kp = shift_frames(keypoints_px[pair], np.array([0, shift])).reshape(2, -1, 2)
            conf = shift_frames(confidence[pair], np.array([0, shift]), fill=0.0).reshape(2, -1)
            points = triangulate(kp, conf, K[pair], R[pair], t[pair], min_confidence)
            error = reprojection_error_px(points, kp, K[pair], R[pair], t[pair])
            error = error[:, np.isfinite(points).all(axis=-1)]
            if error.size and np.median(error) < best:
                best, offsets[v] = np.median(error), shift
    return offsets
