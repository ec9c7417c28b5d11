"""Joint layouts as data, and the linear maps between them.

A layout is an ordered list of joint names plus the bones that draw it. Maps between layouts are
matrices: ``dst = W @ src`` for positions, so a joint the target has but the source lacks (the
Human3.6M pelvis, say) is a weighted mean of source joints. A mapped joint's confidence is the
minimum over the source joints it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Layout:
    """An ordered joint set: ``names[i]`` is joint i; ``bones`` are (parent, child) index pairs."""

    name: str
    names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", {n: i for i, n in enumerate(self.names)})

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def flip_permutation(self) -> np.ndarray:
        """Index permutation that swaps left and right joints (for mirroring augmentation)."""
        swapped = []
        for n in self.names:
            if n.startswith("left_"):
                n = "right_" + n[5:]
            elif n.startswith("right_"):
                n = "left_" + n[6:]
            swapped.append(self.index[n])
        return np.asarray(swapped)


def _bones(names: tuple[str, ...], pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    idx = {n: i for i, n in enumerate(names)}
    return tuple((idx[a], idx[b]) for a, b in pairs)


# Human3.6M 17-joint order used by VideoPose3D and most lifters; "neck_nose" is H36M's joint 9.
_H36M = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)
H36M17 = Layout("h36m17", _H36M, _bones(_H36M, [
    ("pelvis", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("pelvis", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("pelvis", "spine"), ("spine", "thorax"), ("thorax", "neck_nose"), ("neck_nose", "head"),
    ("thorax", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("thorax", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
]))

_COCO = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17 = Layout("coco17", _COCO, _bones(_COCO, [
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_hip", "right_hip"), ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
]))

_BLAZE = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
BLAZEPOSE33 = Layout("blazepose33", _BLAZE, _bones(_BLAZE, [
    ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_hip", "right_hip"), ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_heel"), ("left_heel", "left_foot_index"), ("right_ankle", "right_heel"),
    ("right_heel", "right_foot_index"), ("nose", "left_eye"), ("nose", "right_eye"),
    ("left_eye", "left_ear"), ("right_eye", "right_ear"), ("left_wrist", "left_index"),
    ("right_wrist", "right_index"),
]))

# OpenPose's COCO-18 order, which ROS4HRI's hri_msgs/Skeleton2D uses (its NOSE = 0 ... RIGHT_EAR = 17 codes).
_OPENPOSE = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "left_eye", "right_eye",
    "left_ear", "right_ear",
)
OPENPOSE18 = Layout("openpose18", _OPENPOSE, _bones(_OPENPOSE, [
    ("neck", "nose"), ("neck", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("neck", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("neck", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("neck", "left_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("nose", "left_eye"), ("nose", "right_eye"),
    ("left_eye", "left_ear"), ("right_eye", "right_ear"),
]))

LAYOUTS = {layout.name: layout for layout in (H36M17, COCO17, BLAZEPOSE33, OPENPOSE18)}

# Each OpenPose-18 joint as the H36M-17 joint that is the same point; eyes and ears have none.
OPENPOSE18_FROM_H36M17: dict[str, str | None] = {
    "nose": "neck_nose", "neck": "thorax", "right_shoulder": "right_shoulder", "right_elbow": "right_elbow",
    "right_wrist": "right_wrist", "left_shoulder": "left_shoulder", "left_elbow": "left_elbow",
    "left_wrist": "left_wrist", "right_hip": "right_hip", "right_knee": "right_knee", "right_ankle": "right_ankle",
    "left_hip": "left_hip", "left_knee": "left_knee", "left_ankle": "left_ankle", "left_eye": None,
    "right_eye": None, "left_ear": None, "right_ear": None,
}


def openpose18_from_h36m17(points: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H36M-17 keypoints (17, D) and confidence (17,) -> OpenPose-18 (18, D), (18,); joints H36M lacks (eyes,
    ears) are zeros with confidence 0."""
    out = np.zeros((OPENPOSE18.num_joints, points.shape[-1]), points.dtype)
    conf = np.zeros(OPENPOSE18.num_joints, confidence.dtype)
    for i, name in enumerate(OPENPOSE18.names):
        source = OPENPOSE18_FROM_H36M17[name]
        if source is not None:
            out[i], conf[i] = points[H36M17.index[source]], confidence[H36M17.index[source]]
    return out, conf

# How each Human3.6M joint is made from face/limb keypoints (COCO and BlazePose share these names).
# H36M's spine sits halfway up the torso and its head joint is the top of the head: the ear mid-point
# pushed up by half the nose-to-thorax offset is a common 2D proxy, kept linear so it is one matrix.
_H36M_FROM_KEYPOINTS: dict[str, dict[str, float]] = {
    "pelvis": {"left_hip": 0.5, "right_hip": 0.5},
    "right_hip": {"right_hip": 1.0},
    "right_knee": {"right_knee": 1.0},
    "right_ankle": {"right_ankle": 1.0},
    "left_hip": {"left_hip": 1.0},
    "left_knee": {"left_knee": 1.0},
    "left_ankle": {"left_ankle": 1.0},
    "spine": {"left_hip": 0.25, "right_hip": 0.25, "left_shoulder": 0.25, "right_shoulder": 0.25},
    "thorax": {"left_shoulder": 0.5, "right_shoulder": 0.5},
    "neck_nose": {"nose": 1.0},
    "head": {"left_ear": 0.5, "right_ear": 0.5, "nose": 0.5, "left_shoulder": -0.25, "right_shoulder": -0.25},
    "left_shoulder": {"left_shoulder": 1.0},
    "left_elbow": {"left_elbow": 1.0},
    "left_wrist": {"left_wrist": 1.0},
    "right_shoulder": {"right_shoulder": 1.0},
    "right_elbow": {"right_elbow": 1.0},
    "right_wrist": {"right_wrist": 1.0},
}


def mapping_matrix(src: Layout, dst: Layout) -> np.ndarray:
    """Return W of shape (dst.num_joints, src.num_joints) with ``joints_dst = W @ joints_src``."""
    if src == dst:
        return np.eye(src.num_joints)
    if dst != H36M17:
        raise ValueError(f"no mapping from layout '{src.name}' to '{dst.name}'; expected target 'h36m17'")
    w = np.zeros((dst.num_joints, src.num_joints))
    for i, name in enumerate(dst.names):
        for src_name, weight in _H36M_FROM_KEYPOINTS[name].items():
            if src_name not in src.index:
                raise ValueError(f"layout '{src.name}' lacks joint '{src_name}' needed for h36m17 '{name}'")
            w[i, src.index[src_name]] = weight
    return w


def convert(points: np.ndarray, confidence: np.ndarray, src: Layout, dst: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Map keypoints between layouts.

    points: (..., src.num_joints, D); confidence: (..., src.num_joints) in [0, 1].
    Returns (points (..., dst.num_joints, D), confidence (..., dst.num_joints)); a mapped joint's
    confidence is the minimum over the source joints it uses.
    """
    w = mapping_matrix(src, dst)
    used = w != 0
    # Zero weights must not carry a missing source joint (0 * NaN = NaN) into every target joint.
    finite = np.isfinite(points).all(axis=-1)
    mapped = np.einsum("ds,...sk->...dk", w, np.where(finite[..., None], points, 0.0))
    missing = (~finite).astype(np.float64) @ used.T.astype(np.float64) > 0
    mapped[missing] = np.nan
    conf = np.where(used, confidence[..., None, :], np.inf).min(axis=-1)
    return mapped, conf.astype(confidence.dtype, copy=False)
