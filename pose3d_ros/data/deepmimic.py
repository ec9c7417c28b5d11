"""DeepMimic humanoid clips from the `pybullet==3.2.7` wheel, as Human3.6M-17 joints by forward kinematics.

The wheel ships 15 clips (`pybullet_data/data/motions/humanoid3d_*.txt`: walk, run, jump, dance, cartwheel,
...) as joint rotations of `pybullet_data/humanoid/humanoid.urdf`. Both are read straight from the wheel
file (a zip) or an extracted `pybullet_data` folder: pybullet itself is not needed.
`pip download --no-deps pybullet==3.2.7 -d <dir>` fetches the wheel.

Clip frames: [duration s, root xyz, root quaternion (w x y z), then per joint of ``_MOTION_JOINTS`` a
quaternion (w x y z) or one revolute angle (rad)]; world y up, metres. The URDF is in DeepMimic's units:
its envs load it with globalScaling=0.25, so offsets here are scaled by 0.25 as well.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from pose3d_ros.layouts import H36M17

URDF_SCALE = 0.25
_URDF = "pybullet_data/humanoid/humanoid.urdf"
_MOTIONS = "pybullet_data/data/motions/"
_MOTION_JOINTS = (("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
                  ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1),
                  ("left_ankle", 4), ("left_shoulder", 4), ("left_elbow", 1))
# Points on the head in the neck link's frame (URDF units): the head sphere's centre (nose height) and its top.
_HEAD_CENTRE = np.array([0.0, 0.70, 0.0])
_HEAD_TOP = np.array([0.0, 0.70 + 0.41, 0.0])
_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class _Source:
    """Files of the pybullet wheel, of a folder holding it, or of a folder holding `pybullet_data/`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir() and not (self.path / "pybullet_data").is_dir():
            wheels = sorted(self.path.glob("pybullet-*.whl"))
            if not wheels:
                raise FileNotFoundError(f"no pybullet_data/ or pybullet-*.whl in '{self.path}'; run "
                                        f"`pip download --no-deps pybullet==3.2.7 -d {self.path}`")
            self.path = wheels[-1]
        self.zip = zipfile.ZipFile(self.path) if self.path.is_file() else None

    def names(self, prefix: str) -> list[str]:
        if self.zip is not None:
            return sorted(n for n in self.zip.namelist() if n.startswith(prefix))
        return sorted(str(p.relative_to(self.path)) for p in (self.path / prefix).glob("*"))

    def read(self, name: str) -> bytes:
        return self.zip.read(name) if self.zip is not None else (self.path / name).read_bytes()


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(N, 4) quaternions (w, x, y, z) -> (N, 3, 3) rotation matrices."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def _axis_angle_to_matrix(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    half = 0.5 * angle[:, None]
    return _quat_to_matrix(np.concatenate([np.cos(half), np.sin(half) * axis[None]], axis=1))


def _urdf_joints(text: bytes) -> dict[str, dict]:
    """Joint name -> {parent, child, origin (3,), axis (3,), type}, from the URDF."""
    joints = {}
    for j in ElementTree.fromstring(text.rstrip(b"\0")).iter("joint"):  # the shipped file ends in a NUL byte
        axis = j.find("axis")
        joints[j.get("name")] = {
            "type": j.get("type"), "parent": j.find("parent").get("link"), "child": j.find("child").get("link"),
            "origin": np.array(j.find("origin").get("xyz").split(), float),
            "axis": np.array(axis.get("xyz").split(), float) if axis is not None else np.zeros(3),
        }
    return joints


def _forward_kinematics(frames: np.ndarray, joints: dict[str, dict]) -> dict[str, np.ndarray]:
    """(N, 44) clip frames -> named world points (N, 3) in metres, y up: every joint, plus the head."""
    n = len(frames)
    rotations, offset = {}, 8
    for name, width in _MOTION_JOINTS:
        values = frames[:, offset:offset + width]
        rotations[name] = (_quat_to_matrix(values) if width == 4
                           else _axis_angle_to_matrix(joints[name]["axis"], values[:, 0]))
        offset += width
    pose = {"root": (frames[:, 1:4], _quat_to_matrix(frames[:, 4:8]))}  # link -> (position, rotation)
    points = {}
    pending = [j for j in joints if joints[j]["parent"] != "base"]
    while pending:
        for name in list(pending):
            j = joints[name]
            if j["parent"] not in pose:
                continue
            pos, rot = pose[j["parent"]]
            at = pos + rot @ (URDF_SCALE * j["origin"])
            points[name] = at
            pose[j["child"]] = (at, rot @ rotations[name] if name in rotations else rot)
            pending.remove(name)
    pos, rot = pose["neck"]
    points["head_centre"] = pos + rot @ (URDF_SCALE * _HEAD_CENTRE)
    points["head_top"] = pos + rot @ (URDF_SCALE * _HEAD_TOP)
    assert all(p.shape == (n, 3) for p in points.values())
    return points


def points_to_h36m(points: dict[str, np.ndarray]) -> np.ndarray:
    """The humanoid's named points ({left,right}_{hip,knee,ankle,shoulder,elbow,wrist}, head_centre, head_top;
    (N, 3) each) -> (N, 17, 3) H36M-17, with layouts.py's hip/shoulder means for pelvis, spine, thorax."""
    hips = 0.5 * (points["left_hip"] + points["right_hip"])
    shoulders = 0.5 * (points["left_shoulder"] + points["right_shoulder"])
    named = {"pelvis": hips, "spine": 0.5 * (hips + shoulders), "thorax": shoulders,
             "neck_nose": points["head_centre"], "head": points["head_top"]}
    for side in ("left", "right"):
        for h36m, urdf in (("hip", "hip"), ("knee", "knee"), ("ankle", "ankle"), ("shoulder", "shoulder"),
                           ("elbow", "elbow"), ("wrist", "wrist")):
            named[f"{side}_{h36m}"] = points[f"{side}_{urdf}"]
    return np.stack([named[n] for n in H36M17.names], axis=1)


def resample(times_s: np.ndarray, joints_m: np.ndarray, new_times_s: np.ndarray) -> np.ndarray:
    """Joint positions (N, ...) at ``times_s`` -> at ``new_times_s``, by linear interpolation."""
    flat = joints_m.reshape(len(joints_m), -1)
    return np.stack([np.interp(new_times_s, times_s, flat[:, k]) for k in range(flat.shape[1])], 1).reshape(
        len(new_times_s), *joints_m.shape[1:])


def _resample(frames: np.ndarray, joints_m: np.ndarray, fps: float) -> np.ndarray:
    """Joint positions at a fixed rate by linear interpolation over the clip's per-frame durations."""
    times = np.concatenate([[0.0], np.cumsum(frames[:-1, 0])])
    return resample(times, joints_m, np.arange(0.0, times[-1], 1.0 / fps))


def load_clips(source: str | Path, fps: float, min_seconds: float = 8.0) -> dict[str, np.ndarray]:
    """Clip name -> (N, 17, 3) float32 H36M-17 joints, metres, world z up, resampled to ``fps``.

    source: the pybullet wheel, a folder holding it, or one holding `pybullet_data/`. Looping clips are repeated
    (shifted by their net horizontal travel) to last at least ``min_seconds``.
    """
    src = _Source(source)
    joints = _urdf_joints(src.read(_URDF))
    clips = {}
    for name in src.names(_MOTIONS):
        if not Path(name).name.startswith("humanoid3d_"):
            continue
        clip = json.loads(src.read(name))
        frames = np.asarray(clip["Frames"], float)
        if clip.get("Loop") == "wrap":
            travel = frames[-1, 1:4] - frames[0, 1:4]
            travel[1] = 0.0  # y is up: loops travel horizontally
            repeats = int(np.ceil(min_seconds / frames[:-1, 0].sum()))
            cycles = [frames] + [frames[1:] + np.r_[0.0, k * travel, np.zeros(frames.shape[1] - 4)]
                                 for k in range(1, repeats)]
            frames = np.concatenate(cycles)
        h36m = points_to_h36m(_forward_kinematics(frames, joints)) @ _Y_UP_TO_Z_UP.T
        clips[Path(name).stem.removeprefix("humanoid3d_")] = _resample(frames, h36m, fps).astype(np.float32)
    if not clips:
        raise FileNotFoundError(f"no {_MOTIONS}humanoid3d_*.txt in '{source}'; expected the pybullet==3.2.7 wheel")
    return clips
