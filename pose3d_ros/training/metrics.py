"""Pose errors: MPJPE (protocol 1) as the training loss and P-MPJPE (protocol 2, after Procrustes)."""

from __future__ import annotations

import numpy as np
import torch


def mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean per-joint Euclidean distance of (..., J, 3) tensors, in their unit."""
    return (pred - target).norm(dim=-1).mean()


def p_mpjpe(pred: np.ndarray, target: np.ndarray) -> float:
    """MPJPE after aligning each (B, J, 3) prediction to its target by similarity transform (scale, rotation, shift)."""
    mu_p, mu_t = pred.mean(1, keepdims=True), target.mean(1, keepdims=True)
    p, t = pred - mu_p, target - mu_t
    norm_p = np.linalg.norm(p, axis=(1, 2), keepdims=True)
    norm_t = np.linalg.norm(t, axis=(1, 2), keepdims=True)
    p, t = p / np.maximum(norm_p, 1e-9), t / np.maximum(norm_t, 1e-9)
    u, s, vt = np.linalg.svd(np.einsum("bji,bjk->bik", p, t))
    v = vt.transpose(0, 2, 1)
    r = v @ u.transpose(0, 2, 1)
    # Forbid reflections: flip the last singular direction where det(R) < 0.
    sign = np.sign(np.linalg.det(r))
    v[:, :, -1] *= sign[:, None]
    s[:, -1] *= sign
    r = v @ u.transpose(0, 2, 1)
    scale = (s.sum(1) * norm_t[:, 0, 0] / np.maximum(norm_p[:, 0, 0], 1e-9))[:, None, None]
    aligned = scale * np.einsum("bij,bkj->bki", r, pred - mu_p) + mu_t
    return float(np.linalg.norm(aligned - target, axis=-1).mean())
