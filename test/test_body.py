"""Body frame (REP-155: x forward, y left, z up) of Human3.6M-17 skeletons in the camera optical frame."""

import numpy as np
import pytest
import transforms3d

from pose3d_ros.body import body_rotation
from pose3d_ros.layouts import H36M17

# Standing upright, facing the camera, optical frame (x right, y down, z forward): up is -y, the chest
# faces -z, and the person's left hand is on the camera's right (+x).
_STANDING = {
    "pelvis": (0.0, 0.0, 0.0), "right_hip": (-0.12, 0.0, 0.0), "right_knee": (-0.12, 0.45, 0.02),
    "right_ankle": (-0.12, 0.9, 0.05), "left_hip": (0.12, 0.0, 0.0), "left_knee": (0.12, 0.45, 0.02),
    "left_ankle": (0.12, 0.9, 0.05), "spine": (0.0, -0.25, 0.0), "thorax": (0.0, -0.5, 0.0),
    "neck_nose": (0.0, -0.6, -0.1), "head": (0.0, -0.72, 0.0), "left_shoulder": (0.18, -0.48, 0.0),
    "left_elbow": (0.22, -0.2, 0.0), "left_wrist": (0.24, 0.05, -0.05), "right_shoulder": (-0.18, -0.48, 0.0),
    "right_elbow": (-0.22, -0.2, 0.0), "right_wrist": (-0.24, 0.05, -0.05),
}
STANDING_M = np.array([_STANDING[n] for n in H36M17.names]) + [0.3, 0.1, 3.0]


def _random_rotations(rng: np.random.Generator, count: int) -> np.ndarray:
    quats = rng.normal(size=(count, 4))
    return np.stack([transforms3d.quaternions.quat2mat(q / np.linalg.norm(q)) for q in quats])


def test_standing_person_facing_the_camera():
    rot = body_rotation(STANDING_M[None])[0]
    np.testing.assert_allclose(rot[:, 0], [0.0, 0.0, -1.0], atol=1e-9)  # forward: toward the camera
    np.testing.assert_allclose(rot[:, 1], [1.0, 0.0, 0.0], atol=1e-9)  # left: the camera's right
    np.testing.assert_allclose(rot[:, 2], [0.0, -1.0, 0.0], atol=1e-9)  # up: optical -y


def test_rotation_is_proper_and_turns_with_the_body():
    rng = np.random.default_rng(0)
    turns = _random_rotations(rng, 8)
    joints_m = STANDING_M @ turns.transpose(0, 2, 1) + rng.normal(size=(8, 1, 3))
    rot = body_rotation(joints_m)
    np.testing.assert_allclose(rot.transpose(0, 2, 1) @ rot, np.broadcast_to(np.eye(3), (8, 3, 3)), atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-9)
    np.testing.assert_allclose(rot, turns @ body_rotation(STANDING_M[None]), atol=1e-9)


def test_hips_not_square_to_the_spine_still_give_orthonormal_axes():
    joints_m = STANDING_M.copy()
    joints_m[H36M17.index["left_hip"]] += [0.0, -0.08, 0.05]
    rot = body_rotation(joints_m[None])[0]
    np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-9)
    np.testing.assert_allclose(rot[:, 2], [0.0, -1.0, 0.0], atol=1e-9)


@pytest.mark.parametrize("collapse", ["everything", "spine", "hips", "hips_along_spine"])
def test_degenerate_skeleton_gets_the_identity(collapse):
    joints_m = STANDING_M.copy()
    pelvis, thorax = H36M17.index["pelvis"], H36M17.index["thorax"]
    left_hip, right_hip = H36M17.index["left_hip"], H36M17.index["right_hip"]
    if collapse == "everything":
        joints_m[:] = 0.0
    elif collapse == "spine":
        joints_m[thorax] = joints_m[pelvis]
    elif collapse == "hips":
        joints_m[left_hip] = joints_m[right_hip]
    else:
        joints_m[left_hip] = joints_m[right_hip] + (joints_m[thorax] - joints_m[pelvis])
    rot = body_rotation(np.stack([joints_m, STANDING_M]))
    np.testing.assert_array_equal(rot[0], np.eye(3))
    np.testing.assert_allclose(rot[1], body_rotation(STANDING_M[None])[0])
