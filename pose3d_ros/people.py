"""The per-person records that flow between the pipeline's steps (plain numpy, no ROS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Person2D:
    """One tracked person's 2D keypoints in one image.

    keypoints_px: (J, 2) float32 pixel (x, y); confidence: (J,) float32 in [0, 1], 0 = not observed.
    bbox_px: (4,) float32 x_min, y_min, x_max, y_max.
    """

    track_id: int
    keypoints_px: np.ndarray
    confidence: np.ndarray
    score: float
    bbox_px: np.ndarray


@dataclass
class Person3D:
    """One tracked person's 3D skeleton in the camera optical frame (x right, y down, z forward).

    joints_cam_m: (J, 3) float32 metres; confidence: (J,) float32 in [0, 1].
    body_rotation: (3, 3) rotation of the body frame (x forward, y left, z up) in the camera frame;
    its origin is the pelvis, joints_cam_m[0].
    root_source: one of camera.ROOT_FROM_KEYPOINTS, ROOT_FROM_DEPTH, ROOT_ASSUMED_DEPTH, ROOT_FROM_FLOOR.
    """

    track_id: int
    joints_cam_m: np.ndarray
    confidence: np.ndarray
    body_rotation: np.ndarray
    root_source: int
