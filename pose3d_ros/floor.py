"""Metric placement from the floor: people stand on it, and a robot knows where its camera is above it.

A lifted skeleton is root-relative and its size is the lifter's idea of a human's; the 2D keypoints fix only
its direction from the camera (camera.place_root). When a foot is on a floor of known height below the camera,
the ray through that ankle's keypoint meets the plane at ankle height in one point: that gives the metric
distance, and with it the person's size (place_on_floor, one frame). A person's size does not change, so
TrackScales keeps each track's size from its recent floor contacts, and the pipeline places the skeleton,
scaled to that size, from its keypoints: frames without contact (a jump, hidden feet) keep the size, and the
per-frame noise of a foot ray does not shake the skeleton. Frames: the camera optical frame (REP-103: x right,
y down, z forward), metres.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Container
from dataclasses import dataclass, field

import numpy as np

from pose3d_ros.camera import CameraModel, place_root
from pose3d_ros.layouts import H36M17

# The ankle joint's height above the floor when its foot is flat on it: the mean of the training motion
# capture's medians over floor-standing frames (climb sequences 0-3: 0.087, 0.088, 0.130, 0.131 m; shoes and
# joint definitions differ); anthropometry gives 0.039 x stature barefoot (0.068 m at 1.75 m) plus 2-4 cm of sole.
# An error of da moves the person by da / (camera height - ANKLE_HEIGHT_M) of their distance.
ANKLE_HEIGHT_M = 0.11
# A second ankle this close in height to the lowest one also stands on the floor: both feet flat differ by the
# lifter's error (~2 cm); a heel lifting at push-off or a swing foot rises more.
BOTH_FEET_M = 0.05
# No joint may lie this far below the lowest ankle: kneeling, sitting on the floor, hands on it or upside down,
# the ankle carries no weight. Knees and hips of a standing person are 0.4 m and more above it.
LOWEST_JOINT_MARGIN_M = 0.10
MIN_ANKLE_CONFIDENCE = 0.5
# A foot ray must fall at least this steeply to the ankle plane: 2D noise of ~0.005 rad (5 px at f = 1000 px)
# moves the intersection by 0.005 / tan(angle) of its distance, 10% at 3 degrees.
MIN_DEPRESSION_DEG = 3.0
# The camera must be this high above the ankle plane: ankle heights spread by +-2.2 cm between the training
# subjects, which is a size error of 2.2 cm / (camera height - ANKLE_HEIGHT_M); above 0.55 m it is less than
# the 4% spread of adult stature (sd ~7 cm) that the lifter's one size for everyone already carries.
MIN_CAMERA_ABOVE_ANKLES_M = 0.55
# Sizes the floor may give, relative to the lifter's: people 1.1-2.0 m tall, the lifter's skeletons being ~1.7 m
# (its summed bones run ~5% short on the held-out climb). Outside, the feet are not on this floor (a jump, a
# step, a box) or the floor is wrong.
SCALE_RANGE = (0.65, 1.25)
MIN_DEPTH_M = 0.3
# TrackScales: a track's size is the median of its floor scales over this long, followed at most this fast (a
# body's size is constant; a 10% correction takes ~3 s, and a 0.05%-per-frame change at 60 fps cannot shake it).
SCALE_WINDOW_S = 2.0
MAX_SCALE_RATE_PER_S = 0.03

_ANKLES = (H36M17.index["right_ankle"], H36M17.index["left_ankle"])


@dataclass(frozen=True)
class Floor:
    """A flat floor below the camera, in the camera optical frame.

    normal_cam: (3,) unit vector pointing up, away from the floor (normalised on construction);
    camera_height_m: the optical centre's height above the floor. A point p is ``normal_cam @ p +
    camera_height_m`` above the floor.
    """

    normal_cam: np.ndarray
    camera_height_m: float

    def __post_init__(self) -> None:
        normal = np.asarray(self.normal_cam, np.float64)
        norm = float(np.linalg.norm(normal)) if normal.shape == (3,) else math.nan
        if not (np.isfinite(normal).all() and norm > 1e-9):
            raise ValueError(f"floor normal {normal.tolist()} is not a finite non-zero 3-vector; expected the "
                             "up direction in the camera optical frame")
        if not math.isfinite(self.camera_height_m):
            raise ValueError(f"camera height {self.camera_height_m} m above the floor is not finite")
        object.__setattr__(self, "normal_cam", normal / norm)
        object.__setattr__(self, "camera_height_m", float(self.camera_height_m))

    @classmethod
    def from_height_pitch(cls, camera_height_m: float, pitch_deg: float, roll_deg: float = 0.0) -> Floor:
        """A camera ``camera_height_m`` above the floor, its optical axis ``pitch_deg`` below the horizon
        (positive looks down) and turned ``roll_deg`` about it (right-handed about z forward: x toward y,
        the image's right edge down)."""
        if not (math.isfinite(camera_height_m) and camera_height_m > 0):
            raise ValueError(f"camera height {camera_height_m} m; expected the optical centre's height above the "
                             "floor in metres, > 0")
        if not (math.isfinite(pitch_deg) and math.isfinite(roll_deg)):
            raise ValueError(f"camera pitch {pitch_deg} deg and roll {roll_deg} deg; expected finite angles")
        pitch, roll = math.radians(pitch_deg), math.radians(roll_deg)
        normal = [-math.cos(pitch) * math.sin(roll), -math.cos(pitch) * math.cos(roll), -math.sin(pitch)]
        return cls(np.array(normal), camera_height_m)

    @classmethod
    def from_camera_pose(cls, floor_T_camera: np.ndarray) -> Floor:
        """From the (4, 4) pose of the camera optical frame in a floor frame whose z is up and z = 0 the floor
        (REP-120's base_footprint, or a world frame): x_floor = floor_T_camera @ [x_cam, 1]."""
        pose = np.asarray(floor_T_camera, np.float64)
        if pose.shape != (4, 4) or not np.isfinite(pose).all():
            raise ValueError(f"camera pose of shape {pose.shape}; expected a finite (4, 4) homogeneous transform")
        rotation = pose[:3, :3]
        if not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-3) or np.linalg.det(rotation) < 0:
            raise ValueError(f"camera pose rotation {rotation.round(4).tolist()} is not a rotation matrix")
        return cls(rotation[2], pose[2, 3])

    def height_m(self, points_cam_m: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) -> their heights above the floor (...)."""
        return points_cam_m @ self.normal_cam + self.camera_height_m


def contact_ankles(joints_rel_m: np.ndarray, confidence: np.ndarray, floor: Floor,
                   min_confidence: float = MIN_ANKLE_CONFIDENCE) -> np.ndarray:
    """Which ankles stand on the floor, judged from the lifted skeleton's heights along the floor normal.

    joints_rel_m: (P, J, 3) root-relative, camera axes (H36M-17); confidence: (P, J). Returns (P, 2) bool for
    (right, left) ankle. The rule: the lowest ankle is in contact when it is confident and no joint lies more
    than LOWEST_JOINT_MARGIN_M below it; the other ankle too when confident and within BOTH_FEET_M of its
    height. A person whose lowest ankle is unconfident has no contact, even if the other foot is seen.
    """
    height = joints_rel_m @ floor.normal_cam
    height = np.where(np.isfinite(height), height, np.inf)  # a joint not seen is never the lowest
    ankle_height = height[:, _ANKLES]
    lowest_height = ankle_height.min(axis=1, keepdims=True)
    seen = confidence[:, _ANKLES] >= min_confidence
    supported = (height.min(axis=1, keepdims=True) >= lowest_height - LOWEST_JOINT_MARGIN_M) & np.isfinite(
        lowest_height)
    lowest_seen = (seen & (ankle_height == lowest_height)).any(axis=1, keepdims=True)
    return seen & supported & lowest_seen & (ankle_height <= lowest_height + BOTH_FEET_M)


def _seen(joints_rel_m: np.ndarray, keypoints_px: np.ndarray, confidence: np.ndarray):
    """(joints, keypoints, confidence, valid) as float64 with every non-finite joint or keypoint, or zero
    confidence, unseen: confidence 0, joint and keypoint 0, valid False."""
    joints_rel_m = np.asarray(joints_rel_m, np.float64)
    keypoints_px = np.asarray(keypoints_px, np.float64)
    confidence = np.clip(np.asarray(confidence, np.float64), 0.0, 1.0)
    valid = np.isfinite(joints_rel_m).all(-1) & np.isfinite(keypoints_px).all(-1) & (confidence > 0)
    return (np.where(valid[..., None], joints_rel_m, 0.0), np.where(valid[..., None], keypoints_px, 0.0),
            np.where(valid, confidence, 0.0), valid)


def place_on_floor(joints_rel_m: np.ndarray, keypoints_px: np.ndarray, confidence: np.ndarray,
                   camera: CameraModel, floor: Floor, ankle_height_m: float = ANKLE_HEIGHT_M,
                   min_confidence: float = MIN_ANKLE_CONFIDENCE,
                   scale_range: tuple[float, float] = SCALE_RANGE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place people whose feet are on ``floor``, and size them, from their foot rays.

    joints_rel_m: (P, J, 3) root-relative H36M-17 joints in camera axes (the lifter's output); keypoints_px:
    (P, J, 2); confidence: (P, J). Returns root_m (P, 3), scale (P,) and on_floor (P,) bool: the person is
    ``scale * joints_rel_m + root_m[:, None]``.

    For a person with ankles in contact (contact_ankles), each contact ankle's ray meets the plane
    ``ankle_height_m`` above the floor at F_c; scale s and root t solve, by confidence-weighted linear least
    squares, the perspective constraints x_j (s Z_j + t_z) = s X_j + t_x, y_j (s Z_j + t_z) = s Y_j + t_y of
    every joint and s A_c + t = F_c of every contact ankle A_c. All are residuals in metres; the perspective ones
    are homogeneous in (s, t), so the floor alone sets size and distance, the keypoints the direction.
    Everyone else keeps camera.place_root's root and scale 1, with on_floor False: no contact, a foot ray
    falling less than MIN_DEPRESSION_DEG to the ankle plane, a camera less than MIN_CAMERA_ABOVE_ANKLES_M above
    it, a scale outside ``scale_range`` (feet on a step or in the air), a joint nearer than MIN_DEPTH_M, or
    non-finite input. Non-finite joints or keypoints count as unseen; the output is always finite.
    """
    scale, on_floor, floor_root = size_on_floor(joints_rel_m, keypoints_px, confidence, camera, floor,
                                                ankle_height_m, min_confidence, scale_range)
    root_m = place_root(*_seen(joints_rel_m, keypoints_px, confidence)[:3], camera, MIN_DEPTH_M)
    root_m[on_floor] = floor_root[on_floor]
    return root_m, scale, on_floor


def size_on_floor(joints_rel_m: np.ndarray, keypoints_px: np.ndarray, confidence: np.ndarray,
                  camera: CameraModel, floor: Floor, ankle_height_m: float = ANKLE_HEIGHT_M,
                  min_confidence: float = MIN_ANKLE_CONFIDENCE,
                  scale_range: tuple[float, float] = SCALE_RANGE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """place_on_floor's floor part alone, for callers that place people themselves (the pipeline places them
    at their track's size): scale (P,) (1 where not on the floor), on_floor (P,) bool and the floor's root
    (P, 3) (NaN where not on the floor)."""
    joints, keypoints, confidence, valid = _seen(joints_rel_m, keypoints_px, confidence)
    p, j = confidence.shape
    if p == 0 or floor.camera_height_m - ankle_height_m < MIN_CAMERA_ABOVE_ANKLES_M:
        return np.ones(p), np.zeros(p, bool), np.full((p, 3), np.nan)

    contact = contact_ankles(np.where(valid[..., None], joints, np.nan), confidence, floor, min_confidence)
    xy = camera.normalise(keypoints)
    rays = np.concatenate([xy[:, _ANKLES], np.ones((p, 2, 1))], axis=-1)  # (P, 2, 3), z = 1
    drop = -(rays @ floor.normal_cam)  # fall per unit depth
    steep = drop >= math.sin(math.radians(MIN_DEPRESSION_DEG)) * np.linalg.norm(rays, axis=-1)
    contact &= steep
    depth = (floor.camera_height_m - ankle_height_m) / np.where(steep, drop, 1.0)
    feet_m = rays * depth[..., None]  # (P, 2, 3)

    w = np.sqrt(confidence)
    a = np.zeros((p, 2 * j + 6, 4))
    b = np.zeros((p, 2 * j + 6))
    for axis in (0, 1):  # unknowns (s, t_x, t_y, t_z)
        rows = slice(axis * j, (axis + 1) * j)
        a[:, rows, 0] = (joints[..., axis] - xy[..., axis] * joints[..., 2]) * w
        a[:, rows, 1 + axis] = w
        a[:, rows, 3] = -xy[..., axis] * w
    foot_w = np.where(contact, w[:, _ANKLES], 0.0)  # (P, 2)
    for c, ankle in enumerate(_ANKLES):
        rows = slice(2 * j + 3 * c, 2 * j + 3 * c + 3)
        a[:, rows, 0] = joints[:, ankle] * foot_w[:, c, None]
        a[:, rows, 1:] = np.eye(3) * foot_w[:, c, None, None]
        b[:, rows] = np.where(contact[:, c, None], feet_m[:, c], 0.0) * foot_w[:, c, None]
    ata = a.transpose(0, 2, 1) @ a + 1e-9 * np.eye(4)
    solution = np.linalg.solve(ata, a.transpose(0, 2, 1) @ b[..., None])[..., 0]
    floor_scale, floor_root = solution[:, 0], solution[:, 1:]
    nearest = floor_scale * joints[..., 2].min(axis=1, initial=0.0) + floor_root[:, 2]
    on_floor = (contact.any(axis=1) & np.isfinite(solution).all(axis=1) & (floor_scale >= scale_range[0])
                & (floor_scale <= scale_range[1]) & (nearest >= MIN_DEPTH_M))
    return np.where(on_floor, floor_scale, 1.0), on_floor, np.where(on_floor[:, None], floor_root, np.nan)


@dataclass
class _TrackScale:
    log_scales: deque[tuple[int, float]] = field(default_factory=deque)  # (stamp_ns, log scale) of floor frames
    log_scale: float = math.nan
    stamp_ns: int = 0


class TrackScales:
    """Each track's body size from its floor contacts, causally: the median of the track's floor scales
    (place_on_floor) over the last ``window_s``, followed at most ``max_rate_per_s`` (in log scale). A track's
    first floor frame sets its size; a track without one has none. Frames off the floor (jumps, a step) and
    single wrong contacts do not move the median; a track standing on something else for more than half the
    window does."""

    def __init__(self, window_s: float = SCALE_WINDOW_S, max_rate_per_s: float = MAX_SCALE_RATE_PER_S):
        self.window_ns = int(window_s * 1e9)
        self.max_rate_per_ns = max_rate_per_s / 1e9
        self._tracks: dict[int, _TrackScale] = {}

    def reset(self) -> None:
        """Forget every track's size (time jumped back)."""
        self._tracks.clear()

    def keep(self, track_ids: Container[int]) -> None:
        """Forget the sizes of tracks not in ``track_ids`` (the tracks still followed)."""
        for track_id in [t for t in self._tracks if t not in track_ids]:
            del self._tracks[track_id]

    def update(self, track_ids: list[int], stamp_ns: int, scale: np.ndarray, on_floor: np.ndarray) -> np.ndarray:
        """Add one frame's floor scales, (P,) with on_floor (P,) bool, of ``track_ids`` at ``stamp_ns`` (not older
        than the track's last update); return (P,) each track's size, NaN for a track never on the floor."""
        sizes = np.full(len(track_ids), np.nan)
        for i, track_id in enumerate(track_ids):
            track = self._tracks.setdefault(track_id, _TrackScale())
            if on_floor[i]:
                track.log_scales.append((stamp_ns, math.log(scale[i])))
            while track.log_scales and track.log_scales[0][0] <= stamp_ns - self.window_ns:
                track.log_scales.popleft()
            if track.log_scales:
                target = statistics.median(v for _, v in track.log_scales)
                if math.isnan(track.log_scale):
                    track.log_scale = target
                else:
                    step = self.max_rate_per_ns * (stamp_ns - track.stamp_ns)
                    track.log_scale += min(max(target - track.log_scale, -step), step)
                track.stamp_ns = stamp_ns
            sizes[i] = math.exp(track.log_scale)
        return sizes
