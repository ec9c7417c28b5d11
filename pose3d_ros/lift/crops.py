"""Person crops for lifters that read the image, aligned with the keypoint normalisation (lift/inputs.py).

A crop is the square of +-CROP_EXTENT normalised units around the window's centre, so a joint whose
normalised newest-frame coordinates are (x, y) lies at crop pixel ((x, y) + CROP_EXTENT) * S / (2 * CROP_EXTENT):
the model can find each joint's patch from its 2D input alone. The unit is the person's RMS joint spread
(about a quarter of their height), so the crop spans about 1.25 body heights whatever the distance.
"""

from __future__ import annotations

import cv2
import numpy as np

from pose3d_ros.lift.inputs import window_frame

CROP_EXTENT = 2.5
BORDER_VALUE = 0.5  # grey outside the image: neither a dark nor a bright background


def crop_affine(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray, size: int) -> np.ndarray:
    """(P, 2, 3) affine maps from image pixels to crop pixels, one per window (arguments as normalize_window)."""
    centre, scale = window_frame(keypoints_px, confidence, K)
    K = np.broadcast_to(np.asarray(K, np.float64), (len(centre), 3, 3))
    affine = np.zeros((len(centre), 2, 3))
    for axis in range(2):
        focal, principal = K[:, axis, axis], K[:, axis, 2]
        gain = size / (2.0 * CROP_EXTENT * np.maximum(scale, 1e-6) * focal)
        affine[:, axis, axis] = gain
        affine[:, axis, 2] = size / 2.0 - gain * (principal + focal * centre[:, axis])
    return affine


def crop_people(rgb: np.ndarray, keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray,
                size: int) -> np.ndarray:
    """Each person's crop of one RGB image: rgb (H, W, 3) uint8 -> (P, 3, size, size) float32 in [0, 1].

    keypoints_px, confidence: the windows given to the lifter, (P, T, 17, 2) and (P, T, 17); the crop follows
    their newest frame's centre and the window's scale, exactly as the lifter's keypoint input does.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"image {rgb.shape} {rgb.dtype}; expected (H, W, 3) uint8 RGB")
    crops = np.empty((len(keypoints_px), 3, size, size), np.float32)
    for p, affine in enumerate(crop_affine(keypoints_px, confidence, K, size)):
        patch = cv2.warpAffine(rgb, affine, (size, size), flags=cv2.INTER_AREA,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(round(255 * BORDER_VALUE),) * 3)
        crops[p] = patch.transpose(2, 0, 1) * np.float32(1 / 255)
    return crops
