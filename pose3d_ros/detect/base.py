"""What every 2D keypoint detector backend returns, and the interface it implements."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from pose3d_ros.layouts import Layout, convert


class DetectorError(RuntimeError):
    """A detector that cannot be made, or input it cannot run on."""


@dataclass
class Detection:
    """One person in one image.

    keypoints_px: (J, 2) float32 pixel (x, y) in the input image, J = layout.num_joints; a joint
        the backend guesses beyond the border (out of view) may lie outside the image.
    confidence: (J,) float32 in [0, 1] per keypoint.
    score: person-level confidence in [0, 1].
    bbox_px: (4,) float32 x_min, y_min, x_max, y_max.
    world_m: (J, 3) float32 metric 3D from the backend itself, if it has one (evaluation baseline).
    source_id: the backend's own id for this person when it follows people from frame to frame (a hint the
        tracker keeps to), else None.
    """

    keypoints_px: np.ndarray
    confidence: np.ndarray
    layout: Layout
    score: float
    bbox_px: np.ndarray
    world_m: np.ndarray | None = None
    source_id: int | None = None


class Detector(Protocol):
    """A 2D keypoint detector: RGB image in, people out."""

    layout: Layout

    def detect(self, rgb: np.ndarray, stamp_ns: int) -> list[Detection]:
        """Detect people in (H, W, 3) uint8 RGB taken at ``stamp_ns``; stamps must increase."""
        ...

    def reset(self) -> None:
        """Forget whom it follows from earlier frames (time jumped back: the next stamp may be earlier)."""
        ...

    def close(self) -> None:
        """Release the backend's resources; ``detect`` may not be called afterwards."""
        ...


def check_rgb(rgb: object) -> np.ndarray:
    """Return ``rgb`` if it is a non-empty (H, W, 3) uint8 array, else raise DetectorError."""
    if not isinstance(rgb, np.ndarray):
        raise DetectorError(f"detector input is {type(rgb).__name__}; expected numpy uint8 array (H, W, 3) RGB")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise DetectorError(
            f"detector input is {rgb.dtype} array of shape {rgb.shape}; expected uint8 (H, W, 3) RGB, H, W > 0"
        )
    return rgb


def to_layout(det: Detection, layout: Layout) -> Detection:
    """Map a detection's keypoints, confidences and world points to ``layout`` (see layouts.convert)."""
    keypoints_px, confidence = convert(det.keypoints_px, det.confidence, det.layout, layout)
    world_m = None
    if det.world_m is not None:
        world_m, _ = convert(det.world_m, det.confidence, det.layout, layout)
        world_m = world_m.astype(np.float32)
    return replace(
        det, keypoints_px=keypoints_px.astype(np.float32), confidence=confidence, layout=layout, world_m=world_m
    )
