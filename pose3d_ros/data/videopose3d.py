"""Human3.6M in the standard VideoPose3D .npz files, for users who hold the dataset and want paper configurations.

Two files, as VideoPose3D's preparation scripts write them:
  data_3d_h36m.npz:    positions_3d[subject][action] = (F, 32, 3) world positions in metres
  data_2d_h36m_*.npz:  positions_2d[subject][action] = [(F, 17, 2) pixels per camera], metadata (layout, joints)
plus the cameras, which those files do not carry, as JSON:
  {subject: [{"orientation": [w, x, y, z], "translation": [x, y, z] (mm), "center": [cx, cy],
              "focal_length": [fx, fy], "res_w": W, "res_h": H}, ...one per camera in 2D order]}
(the published Human3.6M calibration; VideoPose3D lists it). The quaternion rotates camera axes into world
axes and the translation is the camera centre in world millimetres, as in that listing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The 17 of Human3.6M's 32 joints that VideoPose3D keeps, in H36M-17 order (pose3d_ros.layouts.H36M17).
H36M32_TO_17 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)


@dataclass(frozen=True)
class CameraSequence:
    """One action seen by one camera: detected 2D and ground-truth 3D in that camera's optical frame.

    keypoints_px: (F, 17, 2); joints_cam_m: (F, 17, 3) metres; K: (3, 3); image_size: (width, height).
    """

    subject: str
    action: str
    camera: int
    keypoints_px: np.ndarray
    joints_cam_m: np.ndarray
    K: np.ndarray
    image_size: tuple[int, int]


def _rotation(quaternion_wxyz: list[float]) -> np.ndarray:
    w, x, y, z = np.asarray(quaternion_wxyz, np.float64) / np.linalg.norm(quaternion_wxyz)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def load_videopose3d(positions_3d: str | Path, positions_2d: str | Path, cameras: str | Path,
                     subjects: list[str] | None = None) -> list[CameraSequence]:
    """Pair each (subject, action, camera) 2D track with its ground truth in that camera's frame.

    subjects: e.g. ["S1", "S5", "S6", "S7", "S8"] for training, ["S9", "S11"] for testing; None = all.
    Frame counts of 2D and 3D may differ by a few frames (as in the released files): the shorter wins.
    Raises ValueError naming what does not match (joint counts, a camera missing for a subject).
    """
    data_3d = np.load(positions_3d, allow_pickle=True)["positions_3d"].item()
    file_2d = np.load(positions_2d, allow_pickle=True)
    data_2d = file_2d["positions_2d"].item()
    meta = file_2d["metadata"].item() if "metadata" in file_2d else {}
    if meta.get("num_joints", 17) != 17:
        raise ValueError(f"{positions_2d}: {meta['num_joints']} joints per 2D pose; expected 17 (Human3.6M order)")
    calibration = json.loads(Path(cameras).read_text())
    out = []
    for subject in subjects or sorted(data_2d):
        if subject not in calibration:
            raise ValueError(f"no cameras for subject '{subject}' in {cameras}; it has {sorted(calibration)}")
        for action, tracks in sorted(data_2d[subject].items()):
            world = np.asarray(data_3d[subject][action], np.float64)
            if world.shape[1] == 32:
                world = world[:, H36M32_TO_17]
            if world.shape[1:] != (17, 3):
                raise ValueError(f"{subject}/{action}: 3D poses of shape {world.shape[1:]}; "
                                 "expected (32, 3) or (17, 3)")
            if len(tracks) > len(calibration[subject]):
                raise ValueError(f"{subject}/{action}: {len(tracks)} 2D tracks but {len(calibration[subject])} cameras")
            for index, (keypoints_px, cam) in enumerate(zip(tracks, calibration[subject])):
                frames = min(len(keypoints_px), len(world))
                R = _rotation(cam["orientation"])
                centre_m = np.asarray(cam["translation"], np.float64) / 1000.0
                joints_cam_m = (world[:frames] - centre_m) @ R
                K = np.array([[cam["focal_length"][0], 0.0, cam["center"][0]],
                              [0.0, cam["focal_length"][1], cam["center"][1]], [0.0, 0.0, 1.0]])
                out.append(CameraSequence(subject, action, index, np.asarray(keypoints_px[:frames], np.float32),
                                          joints_cam_m.astype(np.float32), K, (int(cam["res_w"]), int(cam["res_h"]))))
    return out
