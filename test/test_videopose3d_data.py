"""The VideoPose3D .npz loader, on small generated files in the released format."""

import json

import numpy as np
import pytest

from pose3d_ros.data.videopose3d import H36M32_TO_17, load_videopose3d

RNG = np.random.default_rng(7)


def _camera(yaw: float, centre_mm) -> tuple[dict, np.ndarray]:
    """A level camera looking along world (cos yaw, sin yaw, 0), z up; returns its JSON entry and R (camera axes
    as columns, in world), so the test projects without the loader's quaternion maths."""
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    R = np.stack([np.cross(down, forward), down, forward], axis=1)
    w = np.sqrt(1 + np.trace(R)) / 2
    q = [w, (R[2, 1] - R[1, 2]) / (4 * w), (R[0, 2] - R[2, 0]) / (4 * w), (R[1, 0] - R[0, 1]) / (4 * w)]
    entry = {"orientation": q, "translation": list(centre_mm), "center": [512.0, 515.0],
             "focal_length": [1145.0, 1144.0], "res_w": 1000, "res_h": 1002}
    return entry, R


def _project(entry: dict, R: np.ndarray, joints_world_m: np.ndarray) -> np.ndarray:
    cam_m = (joints_world_m - np.asarray(entry["translation"]) / 1000) @ R
    return (cam_m[..., :2] / cam_m[..., 2:3] * entry["focal_length"] + entry["center"]).astype(np.float32)


@pytest.fixture
def files(tmp_path):
    rigs = {"S1": [_camera(0.0, (-4000, 0, 1500)), _camera(np.pi / 2, (0, -4000, 1500))],
            "S9": [_camera(0.3, (-4000, -1000, 1200))]}
    world = {s: {"Walking": np.array([0.0, 0.0, 1.0]) + RNG.normal(scale=0.3, size=(40, 32, 3))} for s in rigs}
    # 2D shorter by two frames than 3D, as in the released files.
    positions_2d = {s: {a: [_project(entry, R, joints[:38, H36M32_TO_17]) for entry, R in rigs[s]]
                        for a, joints in world[s].items()} for s in rigs}
    np.savez(tmp_path / "3d.npz", positions_3d=world)
    np.savez(tmp_path / "2d.npz", positions_2d=positions_2d, metadata={"layout_name": "h36m", "num_joints": 17})
    (tmp_path / "cameras.json").write_text(json.dumps({s: [entry for entry, _ in rig] for s, rig in rigs.items()}))
    return tmp_path / "3d.npz", tmp_path / "2d.npz", tmp_path / "cameras.json"


def test_each_camera_track_pairs_with_ground_truth_in_its_frame(files):
    sequences = load_videopose3d(*files, subjects=["S1"])
    assert [(s.subject, s.action, s.camera) for s in sequences] == [("S1", "Walking", 0), ("S1", "Walking", 1)]
    for s in sequences:
        assert s.keypoints_px.shape == (38, 17, 2) and s.joints_cam_m.shape == (38, 17, 3)
        assert (s.joints_cam_m[..., 2] > 2.0).all(), "the person stands ~4 m in front of each camera"
        uvw = s.joints_cam_m @ s.K.T
        np.testing.assert_allclose(uvw[..., :2] / uvw[..., 2:3], s.keypoints_px, atol=1e-2)
        assert s.image_size == (1000, 1002)


def test_all_subjects_by_default_and_errors_name_the_problem(files, tmp_path):
    assert {s.subject for s in load_videopose3d(*files)} == {"S1", "S9"}
    cameras = json.loads(files[2].read_text())
    del cameras["S9"]
    (tmp_path / "few.json").write_text(json.dumps(cameras))
    with pytest.raises(ValueError, match="no cameras for subject 'S9'"):
        load_videopose3d(files[0], files[1], tmp_path / "few.json")
    np.savez(tmp_path / "2d_coco.npz", positions_2d={}, metadata={"num_joints": 18})
    with pytest.raises(ValueError, match="18 joints"):
        load_videopose3d(files[0], tmp_path / "2d_coco.npz", files[2])
