"""Motion-capture sequences from the `holosoma-retargeting==0.1.0` wheel, mapped to Human3.6M-17.

The wheel's `demo_data/climb/mocap_climb_seq_{0..4}/*_joint_positions_*.npy` hold (N, 53, 3) joint
positions in metres, world z up, x/y horizontal (right-handed); the joint order is the wheel's
`config_types/data_type.py:MOCAP_DEMO_JOINTS`, copied below because the .npy files carry no names.
The capture rate is undocumented; hip speeds (median ~2 mm per frame while climbing) fit 120 Hz.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np

from pose3d_ros.layouts import H36M17

MOCAP_FPS = 120.0  # assumed, see the module docstring

MOCAP53 = (
    "Hips", "Spine", "Spine1", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
    "LeftHandThumb1", "LeftHandThumb2", "LeftHandThumb3", "LeftHandIndex1", "LeftHandIndex2",
    "LeftHandIndex3", "LeftHandMiddle1", "LeftHandMiddle2", "LeftHandMiddle3", "LeftHandRing1",
    "LeftHandRing2", "LeftHandRing3", "LeftHandPinky1", "LeftHandPinky2", "LeftHandPinky3",
    "RightShoulder", "RightArm", "RightForeArm", "RightHand", "RightHandThumb1", "RightHandThumb2",
    "RightHandThumb3", "RightHandIndex1", "RightHandIndex2", "RightHandIndex3", "RightHandMiddle1",
    "RightHandMiddle2", "RightHandMiddle3", "RightHandRing1", "RightHandRing2", "RightHandRing3",
    "RightHandPinky1", "RightHandPinky2", "RightHandPinky3", "LeftUpLeg", "LeftLeg", "LeftFoot",
    "LeftToeBase", "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "LeftFootMod", "RightFootMod",
)

# Pelvis, spine and thorax follow layouts.py's keypoint recipe (hip and shoulder means) so the joints a
# detector-fed runtime sees mean the same as the training targets. The mocap "Head" joint sits at nose
# height; H36M's head joint is the top of the head, ~0.8 of a neck-to-head segment above it.
_H36M_FROM_MOCAP: dict[str, dict[str, float]] = {
    "pelvis": {"LeftUpLeg": 0.5, "RightUpLeg": 0.5},
    "right_hip": {"RightUpLeg": 1.0},
    "right_knee": {"RightLeg": 1.0},
    "right_ankle": {"RightFoot": 1.0},
    "left_hip": {"LeftUpLeg": 1.0},
    "left_knee": {"LeftLeg": 1.0},
    "left_ankle": {"LeftFoot": 1.0},
    "spine": {"LeftUpLeg": 0.25, "RightUpLeg": 0.25, "LeftArm": 0.25, "RightArm": 0.25},
    "thorax": {"LeftArm": 0.5, "RightArm": 0.5},
    "neck_nose": {"Head": 1.0},
    "head": {"Head": 1.8, "Neck": -0.8},
    "left_shoulder": {"LeftArm": 1.0},
    "left_elbow": {"LeftForeArm": 1.0},
    "left_wrist": {"LeftHand": 1.0},
    "right_shoulder": {"RightArm": 1.0},
    "right_elbow": {"RightForeArm": 1.0},
    "right_wrist": {"RightHand": 1.0},
}


def mocap_to_h36m_matrix() -> np.ndarray:
    """W of shape (17, 53) with ``joints_h36m = W @ joints_mocap``."""
    w = np.zeros((H36M17.num_joints, len(MOCAP53)))
    for i, name in enumerate(H36M17.names):
        for src, weight in _H36M_FROM_MOCAP[name].items():
            w[i, MOCAP53.index(src)] = weight
    return w


def default_mocap_root() -> Path:
    """The climb folder of the installed holosoma-retargeting wheel (found without importing it)."""
    spec = importlib.util.find_spec("holosoma_retargeting")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "package holosoma-retargeting not installed; run "
            "`pip install --no-deps holosoma-retargeting==0.1.0` or pass the climb folder explicitly"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "demo_data" / "climb"


def find_sequences(root: str | Path | None = None) -> dict[int, Path]:
    """Sequence id -> joint-position file under ``root`` (default: the installed wheel's climb folder)."""
    root = Path(root) if root is not None else default_mocap_root()
    found = {}
    for path in sorted(root.glob("mocap_climb_seq_*/*_joint_positions_*.npy")):
        match = re.search(r"mocap_climb_seq_(\d+)", path.parent.name)
        if match:
            found[int(match.group(1))] = path
    if not found:
        raise FileNotFoundError(f"no mocap_climb_seq_*/*_joint_positions_*.npy under '{root}'")
    return found


def load_sequence(path: str | Path) -> np.ndarray:
    """Load one sequence as Human3.6M-17 joints: (N, 17, 3) float32, metres, world z up."""
    joints = np.load(path)
    if joints.ndim != 3 or joints.shape[1:] != (len(MOCAP53), 3):
        raise ValueError(f"'{path}' has shape {joints.shape}; expected (N, {len(MOCAP53)}, 3)")
    return np.einsum("ds,nsk->ndk", mocap_to_h36m_matrix(), joints).astype(np.float32)
