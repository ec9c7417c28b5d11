"""The body frame of a Human3.6M-17 skeleton (REP-155): origin at the pelvis, x forward, y left, z up."""

from __future__ import annotations

import numpy as np

from pose3d_ros.layouts import H36M17

_PELVIS, _THORAX = H36M17.index["pelvis"], H36M17.index["thorax"]
_LEFT_HIP, _RIGHT_HIP = H36M17.index["left_hip"], H36M17.index["right_hip"]


def body_rotation(joints_m: np.ndarray) -> np.ndarray:
    """Rotation (P, 3, 3) whose columns are the body's x (forward), y (left), z (up) axes.

    joints_m: (P, 17, 3) in any right-handed frame; the result is in that frame. z runs from the pelvis to the
    thorax, y from the right hip to the left hip made orthogonal to z, and x = y cross z faces out of the chest.
    A degenerate skeleton (zero-length spine or hips) gets the identity.
    """
    up = joints_m[:, _THORAX] - joints_m[:, _PELVIS]
    left = joints_m[:, _LEFT_HIP] - joints_m[:, _RIGHT_HIP]
    z = up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-9)
    y = left - (left * z).sum(-1, keepdims=True) * z
    norm_y = np.linalg.norm(y, axis=-1, keepdims=True)
    y = y / np.maximum(norm_y, 1e-9)
    rot = np.empty((*y.shape, 3), y.dtype)
    rot[..., 1], rot[..., 2] = y, z
    # x = y cross z, written out: np.cross costs more than the rest of this function on a few 3-vectors.
    rot[..., 0, 0] = y[:, 1] * z[:, 2] - y[:, 2] * z[:, 1]
    rot[..., 1, 0] = y[:, 2] * z[:, 0] - y[:, 0] * z[:, 2]
    rot[..., 2, 0] = y[:, 0] * z[:, 1] - y[:, 1] * z[:, 0]
    degenerate = (np.linalg.norm(up, axis=-1) < 1e-6) | (norm_y[:, 0] < 1e-6)
    rot[degenerate] = np.eye(3)
    return rot
