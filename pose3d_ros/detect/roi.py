"""BlazePose's geometry as plain numpy: SSD anchors, detection decoding, weighted NMS, rotated regions of
interest (ROIs) and the mapping of landmarks from a ROI crop back to the image.

The numbers follow MediaPipe's pose graphs (pose_detection_cpu, pose_landmark_by_roi): anchors of 5 layers with
strides 8, 16, 32, 32, 32 on a 224 input (2254 anchors, fixed size), boxes and 4 keypoints decoded relative to
them, weighted non-maximum suppression at IoU 0.3, and a square ROI centred on the hip centre whose side is
twice the distance to a point above the head, enlarged 1.25x and rotated so that line points up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
ROI_SCALE = 1.25
NMS_IOU = 0.3


def ssd_anchors(size: int = DETECTOR_SIZE, strides: tuple[int, ...] = (8, 16, 32, 32, 32)) -> np.ndarray:
    """Anchor centres (A, 2) in [0, 1] image units, in the detector's output order (2254 for the defaults).

    Layers sharing a stride are merged, each contributing 2 anchors per cell (a square one and an
    interpolated-scale one; with fixed anchor size both are centred the same), cells in row-major order.
    """
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        repeats = 0
        while layer < len(strides) and strides[layer] == stride:
            repeats += 2
            layer += 1
        cells = math.ceil(size / stride)
        y, x = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([x.ravel(), y.ravel()], axis=-1)
        centres.append(np.repeat(grid, repeats, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Candidates:
    """Detector output above threshold, in [0, 1] units of the detector input.

    scores: (K,); boxes: (K, 4) x_min, y_min, x_max, y_max; keypoints: (K, 4, 2) x, y
    (0 hip centre, 1 a point above the head, 2 and 3 the shoulders' and hips' scale points).
    """

    scores: np.ndarray
    boxes: np.ndarray
    keypoints: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    @staticmethod
    def empty() -> Candidates:
        return Candidates(np.zeros(0, np.float32), np.zeros((0, 4), np.float32), np.zeros((0, 4, 2), np.float32))

    def take(self, index: np.ndarray) -> Candidates:
        return Candidates(self.scores[index], self.boxes[index], self.keypoints[index])


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float, size: int = DETECTOR_SIZE) -> Candidates:
    """Candidates of one detector output: raw_boxes (A, 12), raw_scores (A, 1) logits, anchors (A, 2).

    Offsets are in input pixels relative to the anchor centre (anchors of unit size); scores are clipped to
    +-100 before the sigmoid, as MediaPipe does, so that extreme logits cannot overflow.
    """
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[:, 0].astype(np.float64), -100.0, 100.0)))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return Candidates.empty()
    raw = raw_boxes[keep].astype(np.float32) / size
    centre = raw[:, :2] + anchors[keep]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:12].reshape(-1, 4, 2) + anchors[keep][:, None]
    return Candidates(scores[keep].astype(np.float32), boxes, keypoints)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a (N, 4) and b (M, 4), x_min, y_min, x_max, y_max: (N, M)."""
    low = np.maximum(a[:, None, :2], b[None, :, :2])
    high = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(high - low, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(candidates: Candidates, iou_threshold: float = NMS_IOU) -> Candidates:
    """MediaPipe's weighted NMS: best first; each kept detection's box and keypoints become the score-weighted
    mean of the candidates overlapping it by more than ``iou_threshold``, which are then removed."""
    order = np.argsort(-candidates.scores, kind="stable")
    scores, boxes, keypoints = [], [], []
    while order.size:
        overlap = box_iou(candidates.boxes[order[:1]], candidates.boxes[order])[0] > iou_threshold
        overlap[0] = True
        group = order[overlap]
        weights = candidates.scores[group] / candidates.scores[group].sum()
        scores.append(candidates.scores[group[0]])
        boxes.append(np.tensordot(weights, candidates.boxes[group], axes=1))
        keypoints.append(np.tensordot(weights, candidates.keypoints[group], axes=1))
        order = order[~overlap]
    if not scores:
        return Candidates.empty()
    return Candidates(np.asarray(scores, np.float32), np.asarray(boxes, np.float32),
                      np.asarray(keypoints, np.float32))


@dataclass(frozen=True)
class Roi:
    """A square, rotated region of an image: centre (x, y) and side in pixels; rotation in radians, the angle
    by which the image is turned so that the person stands upright in the crop (positive counter-clockwise)."""

    centre_px: tuple[float, float]
    size_px: float
    rotation_rad: float


def roi_from_points(start_px: np.ndarray, end_px: np.ndarray, scale: float = ROI_SCALE) -> Roi:
    """The ROI centred on ``start_px`` (hip centre) whose upright axis points to ``end_px`` (above the head):
    side 2 |end - start| x ``scale``, rotated so that start -> end points up in the crop."""
    dx, dy = (np.asarray(end_px, np.float64) - np.asarray(start_px, np.float64))
    rotation = normalize_radians(math.pi / 2 - math.atan2(-dy, dx))
    return Roi((float(start_px[0]), float(start_px[1])), float(2 * math.hypot(dx, dy) * scale), rotation)


def normalize_radians(angle: float) -> float:
    """``angle`` wrapped into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_to_crop(roi: Roi, crop_size: int = LANDMARK_SIZE) -> np.ndarray:
    """The 2x3 affine map from image to crop coordinates that cuts ``roi`` upright into ``crop_size`` pixels.

    Coordinates here are continuous: pixel i spans [i, i + 1], as MediaPipe's normalised coordinates times the
    image size; ``index_affine`` turns such a map into OpenCV's pixel-centre convention.
    """
    cos, sin = math.cos(roi.rotation_rad), math.sin(roi.rotation_rad)
    scale = crop_size / roi.size_px
    # crop = scale * R(-rotation) (image - centre) + crop centre; R(-a) undoes the person's tilt.
    linear = scale * np.array([[cos, sin], [-sin, cos]])
    offset = np.full(2, crop_size / 2) - linear @ np.asarray(roi.centre_px)
    return np.hstack([linear, offset[:, None]])


def index_affine(continuous: np.ndarray) -> np.ndarray:
    """A 2x3 map between continuous coordinates (pixel i spans [i, i + 1]) as a map between pixel indices
    (pixel i's centre at i), what cv2.warpAffine takes."""
    linear = continuous[:, :2]
    return np.hstack([linear, (continuous[:, 2] + linear @ np.full(2, 0.5) - 0.5)[:, None]])


def cut_crop(rgb: np.ndarray, roi: Roi, crop_size: int = LANDMARK_SIZE) -> np.ndarray:
    """(crop_size, crop_size, 3) float32 in [0, 1]: ``roi`` of (H, W, 3) uint8 RGB, one bilinear warp, zero
    outside the image."""
    crop = cv2.warpAffine(rgb, index_affine(roi_to_crop(roi, crop_size)), (crop_size, crop_size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return crop.astype(np.float32) * (1.0 / 255.0)


def crop_to_image(points_crop: np.ndarray, roi: Roi, crop_size: int = LANDMARK_SIZE) -> np.ndarray:
    """Points (N, 2) in continuous crop coordinates -> continuous image coordinates, inverting ``roi_to_crop``."""
    inverse = cv2.invertAffineTransform(roi_to_crop(roi, crop_size))
    return points_crop @ inverse[:, :2].T + inverse[:, 2]


def rotate_world(points_m: np.ndarray, roi: Roi) -> np.ndarray:
    """World landmarks (N, 3) of an upright crop turned back by the ROI's rotation about the camera's z axis,
    as MediaPipe's world-landmark projection does (x right, y down: image-aligned axes)."""
    cos, sin = math.cos(roi.rotation_rad), math.sin(roi.rotation_rad)
    x, y = points_m[:, 0], points_m[:, 1]
    return np.stack([cos * x - sin * y, sin * x + cos * y, points_m[:, 2]], axis=-1)


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into a square network input, in continuous coordinates:
    input = image * scale + offset."""

    scale: float
    offset: tuple[float, float]

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """Points (..., 2) in continuous input coordinates -> continuous image coordinates."""
        return (points - np.asarray(self.offset)) / self.scale


def letterbox_square(rgb: np.ndarray, size: int = DETECTOR_SIZE) -> tuple[np.ndarray, Letterbox]:
    """(size, size, 3) float32 in [-1, 1] (the detector's range): ``rgb`` scaled to fit, centred, zero border.

    Bilinear, as MediaPipe shrinks the detector input; area averaging blurred raised arms away.
    """
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    box = Letterbox(scale, ((size - width * scale) / 2, (size - height * scale) / 2))
    continuous = np.array([[scale, 0, box.offset[0]], [0, scale, box.offset[1]]])
    boxed = cv2.warpAffine(rgb, index_affine(continuous), (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)
    return boxed.astype(np.float32) * (2.0 / 255.0) - 1.0, box
