"""Pinhole camera maths: intrinsics from CameraInfo, and placing a lifted skeleton in the camera frame.

Frames and units: the camera optical frame (REP-103: x right, y down, z forward), metres; pixels with (0, 0)
at the centre of the top-left pixel, as in CameraInfo. Lens distortion is ignored: keypoints are assumed
to come from a rectified or low-distortion image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# How a skeleton's root (pelvis) was placed; the same values as pose3d_ros/msg/Skeleton3D ROOT_*.
ROOT_FROM_KEYPOINTS = 0
ROOT_FROM_DEPTH = 1
ROOT_ASSUMED_DEPTH = 2
ROOT_FROM_FLOOR = 3  # the body size, and so the distance, from the person's feet on a known floor (floor.py)

# Field of view assumed when CameraInfo carries no calibration (all-zero K): typical of webcams and phones.
NOMINAL_HORIZONTAL_FOV_DEG = 60.0
MAX_IMAGE_SIDE_PX = 32768


class CameraInfoError(ValueError):
    """CameraInfo that cannot describe a pinhole camera."""


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics. K: (3, 3) float64; width, height: image size in pixels.

    calibrated is False when K was assumed (see ``from_camera_info``); metric outputs are then approximate.
    """

    K: np.ndarray
    width: int
    height: int
    calibrated: bool = True

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @classmethod
    def nominal(cls, width: int, height: int, horizontal_fov_deg: float = NOMINAL_HORIZONTAL_FOV_DEG) -> CameraModel:
        """An uncalibrated camera: square pixels, centred principal point, the given horizontal field of view."""
        f = width / 2.0 / math.tan(math.radians(horizontal_fov_deg) / 2.0)
        K = np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
        return cls(K, width, height, calibrated=False)

    @classmethod
    def from_camera_info(cls, k: np.ndarray | list[float], width: int, height: int) -> CameraModel:
        """Build from CameraInfo's row-major ``k`` (9 values) and image size.

        An all-zero K (an uncalibrated camera, as many drivers publish) gives ``nominal(width, height)``;
        any other K that is not a pinhole matrix of a real camera of that size raises CameraInfoError: focal
        lengths between 0.05 and 100 image widths (fields of view of about 170 down to 0.6 degrees) and within
        5x of each other, the principal point within one image size of the image.
        """
        k = np.asarray(k, dtype=np.float64)
        if not (0 < width <= MAX_IMAGE_SIDE_PX and 0 < height <= MAX_IMAGE_SIDE_PX):
            raise CameraInfoError(f"CameraInfo size {width}x{height}; expected width and height in "
                                  f"1..{MAX_IMAGE_SIDE_PX}")
        if k.size != 9:
            raise CameraInfoError(f"CameraInfo k has {k.size} values; expected 9 (row-major 3x3)")
        if not np.isfinite(k).all():
            raise CameraInfoError(f"CameraInfo k {k.tolist()} has non-finite values")
        if not k.any():
            return cls.nominal(width, height)
        K = k.reshape(3, 3)
        if K[0, 0] <= 0 or K[1, 1] <= 0 or K[2, 2] != 1 or K[1, 0] or K[2, 0] or K[2, 1]:
            raise CameraInfoError(
                f"CameraInfo k {k.tolist()} is not a pinhole matrix; "
                "expected [fx, s, cx, 0, fy, cy, 0, 0, 1] with fx, fy > 0"
            )
        (fx, skew, cx), (fy, cy) = K[0], K[1, 1:]
        if not (0.05 * width <= fx <= 100 * width and 0.2 <= fy / fx <= 5 and abs(skew) <= fx
                and -width <= cx <= 2 * width and -height <= cy <= 2 * height):
            raise CameraInfoError(
                f"CameraInfo k {k.tolist()} for a {width}x{height} image is no real camera's; expected fx in "
                f"{0.05 * width:g}..{100 * width:g} px, fy within 5x of fx, |skew| <= fx, cx in {-width}..{2 * width}"
                f" and cy in {-height}..{2 * height} px"
            )
        return cls(K, width, height)

    def for_image(self, width: int, height: int) -> tuple[CameraModel, str | None]:
        """This camera for images of ``width`` x ``height``, and why it is not simply this camera (None if it is).

        The same aspect ratio (within 1%): K scaled, as for a driver that publishes a smaller image than it was
        calibrated at. Another aspect: these intrinsics cannot describe that image; a nominal uncalibrated camera
        of that size instead, so people are still placed (approximately) rather than dropped as out of view.
        """
        if (width, height) == (self.width, self.height):
            return self, None
        if width > 0 and height > 0 and abs(width / height * self.height / self.width - 1) <= 0.01:
            K = np.diag([width / self.width, height / self.height, 1.0]) @ self.K
            return (CameraModel(K, width, height, self.calibrated),
                    f"camera_info is {self.width}x{self.height} and the image {width}x{height}: intrinsics scaled")
        return (CameraModel.nominal(max(width, 1), max(height, 1)),
                f"camera_info is {self.width}x{self.height} but the image {width}x{height}, another shape: its "
                "intrinsics cannot describe it; assuming a nominal camera (root_source ROOT_ASSUMED_DEPTH)")

    def normalise(self, keypoints_px: np.ndarray) -> np.ndarray:
        """Pixels (..., 2) -> normalised image coordinates (x/z, y/z) on the z = 1 plane, same shape."""
        x = (keypoints_px[..., 0] - self.cx - self.K[0, 1] * (keypoints_px[..., 1] - self.cy) / self.fy) / self.fx
        y = (keypoints_px[..., 1] - self.cy) / self.fy
        return np.stack([x, y], axis=-1)

    def project(self, points_cam_m: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3), z > 0 -> pixels (..., 2)."""
        uvw = points_cam_m @ self.K.T
        return uvw[..., :2] / uvw[..., 2:3]


def place_root(joints_rel_m: np.ndarray, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel,
               min_depth_m: float = 0.3) -> np.ndarray:
    """Find the root translation that makes a root-relative skeleton project onto its 2D keypoints.

    joints_rel_m: (P, J, 3) root-relative joints in camera axes; keypoints_px: (P, J, 2); confidence: (P, J).
    Returns (P, 3) root positions in metres. Linear least squares on the perspective constraints
    x_j (Z_j + t_z) = X_j + t_x and y_j (Z_j + t_z) = Y_j + t_y, weighted by confidence; the depth is kept
    at least ``min_depth_m`` in front of the camera.
    """
    xy = camera.normalise(keypoints_px)
    w = np.sqrt(np.clip(confidence, 0.0, 1.0))[..., None]
    p, j = confidence.shape
    a = np.zeros((p, j, 2, 3))
    a[..., 0, 0] = 1.0
    a[..., 1, 1] = 1.0
    a[..., :, 2] = -xy
    b = xy * joints_rel_m[..., 2:3] - joints_rel_m[..., :2]
    a = (a * w[..., None]).reshape(p, 2 * j, 3)
    b = (b * w).reshape(p, 2 * j)
    ata = a.transpose(0, 2, 1) @ a + 1e-9 * np.eye(3)
    root = np.linalg.solve(ata, (a.transpose(0, 2, 1) @ b[..., None]))[..., 0]
    root[:, 2] = np.maximum(root[:, 2], min_depth_m - joints_rel_m[..., 2].min(axis=1, initial=0.0))
    return root


def refine_root_with_depth(joints_rel_m: np.ndarray, root_m: np.ndarray, keypoints_px: np.ndarray,
                           confidence: np.ndarray, depth_m: np.ndarray, min_confidence: float = 0.5,
                           surface_offset_m: float = 0.1, patch_px: int = 2, min_joints: int = 3) -> np.ndarray | None:
    """Refine one person's root depth with a depth image registered to the keypoints' camera.

    joints_rel_m: (J, 3) root-relative joints; root_m: (3,) root placed from keypoints; keypoints_px: (J, 2);
    confidence: (J,); depth_m: (H, W) metres, NaN where missing. Each confident joint inside the image reads
    the median depth of the (2 * patch_px + 1)^2 pixels around it; joint centres sit ``surface_offset_m``
    behind the visible surface, so each gives a root depth ``d + offset - Z_rel``. Their median moves the
    root along its viewing ray, which keeps it consistent with the 2D keypoints. Returns the refined (3,)
    root, or None when fewer than ``min_joints`` joints have depth.
    """
    h, w = depth_m.shape
    estimates = []
    for (u, v), c, z_rel in zip(np.round(keypoints_px).astype(int), confidence, joints_rel_m[:, 2]):
        if c < min_confidence or not (0 <= u < w and 0 <= v < h):
            continue
        patch = depth_m[max(v - patch_px, 0):v + patch_px + 1, max(u - patch_px, 0):u + patch_px + 1]
        if np.isfinite(patch).any():
            estimates.append(np.nanmedian(patch) + surface_offset_m - z_rel)
    if len(estimates) < min_joints or root_m[2] <= 0:
        return None
    return root_m * (float(np.median(estimates)) / root_m[2])
