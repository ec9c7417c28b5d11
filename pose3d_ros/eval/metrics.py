"""NaN-aware 3D pose errors per frame and joint, in millimetres, for evaluation against a partial reference.

P1 is MPJPE after root (pelvis, joint 0) alignment, P2 MPJPE after a per-frame similarity Procrustes fit,
the acceleration error the mean |a_pred - a_ref| of second differences of root-relative joints in mm/frame^2
(Kanazawa et al., "Learning 3D Human Dynamics from Video", CVPR 2019), the size ratio the summed bone lengths
over the reference's. Inputs are (F, J, 3) in metres; a joint that is NaN in either input gives NaN there, and
callers average with np.nanmean. The training loss and batch P-MPJPE on complete data live in
pose3d_ros.training.metrics; these functions return per-frame, per-joint errors so per-joint tables and
error-over-time plots come from the same numbers.
"""

from __future__ import annotations

import numpy as np

MM_PER_M = 1000.0
ROOT = 0


def root_relative(joints_m: np.ndarray, root: int = ROOT) -> np.ndarray:
    """(..., J, 3) joints minus their root joint."""
    return joints_m - joints_m[..., root:root + 1, :]


def procrustes_align(pred_m: np.ndarray, ref_m: np.ndarray) -> np.ndarray:
    """Per frame, the similarity transform (scale, rotation, translation; no reflection) of pred that best
    fits ref in least squares over the joints finite in both. (F, J, 3) -> (F, J, 3); frames with fewer
    than 3 such joints are NaN."""
    valid = np.isfinite(pred_m).all(axis=-1) & np.isfinite(ref_m).all(axis=-1)
    weight = valid[..., None].astype(np.float64)
    count = np.maximum(valid.sum(axis=1), 1)[:, None, None]
    p0, r0 = np.where(valid[..., None], pred_m, 0.0), np.where(valid[..., None], ref_m, 0.0)
    mu_p, mu_r = p0.sum(axis=1, keepdims=True) / count, r0.sum(axis=1, keepdims=True) / count
    p, r = (p0 - mu_p) * weight, (r0 - mu_r) * weight
    u, s, vt = np.linalg.svd(np.einsum("fji,fjk->fik", p, r))
    v = vt.transpose(0, 2, 1)
    d = np.sign(np.linalg.det(v @ u.transpose(0, 2, 1)))
    v[:, :, -1] *= d[:, None]
    s[:, -1] *= d
    rotation = v @ u.transpose(0, 2, 1)
    scale = s.sum(axis=1) / np.maximum((p ** 2).sum(axis=(1, 2)), 1e-12)
    aligned = scale[:, None, None] * np.einsum("fij,fkj->fki", rotation, pred_m - mu_p) + mu_r
    aligned[valid.sum(axis=1) < 3] = np.nan
    return aligned


def p1_mm(pred_m: np.ndarray, ref_m: np.ndarray, root: int = ROOT) -> np.ndarray:
    """(F, J) joint errors after subtracting each pose's root (the root's own error is 0)."""
    return np.linalg.norm(root_relative(pred_m, root) - root_relative(ref_m, root), axis=-1) * MM_PER_M


def p2_mm(pred_m: np.ndarray, ref_m: np.ndarray) -> np.ndarray:
    """(F, J) joint errors after per-frame similarity Procrustes alignment of pred to ref."""
    return np.linalg.norm(procrustes_align(pred_m, ref_m) - ref_m, axis=-1) * MM_PER_M


def root_error_mm(pred_m: np.ndarray, ref_m: np.ndarray, root: int = ROOT) -> np.ndarray:
    """(F,) distance between predicted and reference root, both in the camera frame (camera-frame methods only)."""
    return np.linalg.norm(pred_m[:, root] - ref_m[:, root], axis=-1) * MM_PER_M


def bone_lengths_m(joints_m: np.ndarray, bones: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(F, B) length of each (parent, child) bone in each of the (F, J, 3) frames; NaN where a joint is missing."""
    return np.stack([np.linalg.norm(joints_m[:, child] - joints_m[:, parent], axis=-1) for parent, child in bones], 1)


def size_ratio(pred_m: np.ndarray, ref_m: np.ndarray, bones: tuple[tuple[int, int], ...]) -> np.ndarray:
    """(F,) sum of predicted bone lengths over the sum of reference bone lengths, for (parent, child) ``bones``;
    NaN where a bone is missing in either."""
    return bone_lengths_m(pred_m, bones).sum(axis=1) / bone_lengths_m(ref_m, bones).sum(axis=1)


def bone_length_cv(pred_m: np.ndarray, bones: tuple[tuple[int, int], ...]) -> float:
    """How much one person's bone lengths vary over their (F, J, 3) frames: the coefficient of variation (std over
    mean) of each bone's length across the frames, averaged over bones; frames with a missing joint are left out.
    0 for a skeleton that keeps its bones."""
    lengths = bone_lengths_m(pred_m, bones)
    lengths = lengths[np.isfinite(lengths).all(axis=1)]
    if len(lengths) < 2:
        return float("nan")
    return float(np.mean(lengths.std(axis=0) / lengths.mean(axis=0)))


def accel_error_mm(pred_m: np.ndarray, ref_m: np.ndarray, root: int = ROOT) -> np.ndarray:
    """(F - 2, J) |a_pred - a_ref| in mm/frame^2, a = x[f+1] - 2 x[f] + x[f-1] of root-relative joints;
    row f is centred on frame f + 1 and is NaN where any of the three frames is missing."""
    def accel(x: np.ndarray) -> np.ndarray:
        x = root_relative(x, root)
        return x[2:] - 2.0 * x[1:-1] + x[:-2]

    return np.linalg.norm(accel(pred_m) - accel(ref_m), axis=-1) * MM_PER_M
