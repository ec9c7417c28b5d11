"""Mocap -> Human3.6M-17 mapping and the augmentation that turns it into camera views."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from pose3d_ros.data import augment, mocap
from pose3d_ros.layouts import H36M17

J = H36M17.index


@pytest.fixture(scope="module")
def climb_files():
    if importlib.util.find_spec("holosoma_retargeting") is None:
        pytest.skip("needs `pip install --no-deps holosoma-retargeting==0.1.0`")
    files = mocap.find_sequences()
    assert sorted(files) == [0, 1, 2, 3, 4]
    return files


@pytest.fixture(scope="module")
def sequences(climb_files):
    return {i: mocap.load_sequence(p) for i, p in climb_files.items()}


def bone_length(joints, a, b):
    return np.linalg.norm(joints[..., J[a], :] - joints[..., J[b], :], axis=-1)


def test_mapping_is_translation_invariant():
    np.testing.assert_allclose(mocap.mocap_to_h36m_matrix().sum(1), 1.0)


def test_bone_lengths_are_human(sequences):
    for joints in sequences.values():
        assert joints.shape[1:] == (17, 3) and joints.dtype == np.float32
        for side in ("left", "right"):
            assert 0.30 < bone_length(joints, f"{side}_hip", f"{side}_knee").mean() < 0.55
            assert 0.30 < bone_length(joints, f"{side}_knee", f"{side}_ankle").mean() < 0.55
            assert 0.20 < bone_length(joints, f"{side}_shoulder", f"{side}_elbow").mean() < 0.40
            assert 0.18 < bone_length(joints, f"{side}_elbow", f"{side}_wrist").mean() < 0.35
        # rigid mocap bones: limb lengths barely change over a sequence, and left matches right
        assert bone_length(joints, "left_knee", "left_ankle").std() < 0.01
        left, right = bone_length(joints, "left_hip", "left_knee"), bone_length(joints, "right_hip", "right_knee")
        assert abs(left.mean() - right.mean()) < 0.02


def test_world_is_z_up_right_handed_with_correct_sides(climb_files):
    """Head above pelvis above ankles; feet point forward with the person's left on their left."""
    raw = np.load(climb_files[0])
    n = mocap.MOCAP53.index
    up = raw[:, n("Head"), 2] - raw[:, n("LeftFoot"), 2]
    assert np.median(up) > 1.2
    forward = raw[:, n("LeftToeBase")] - raw[:, n("LeftFoot")] + raw[:, n("RightToeBase")] - raw[:, n("RightFoot")]
    left = raw[:, n("LeftUpLeg")] - raw[:, n("RightUpLeg")]
    assert np.mean(np.cross(forward, left)[:, 2] > 0) > 0.9


def test_virtual_cameras_see_an_upright_person_in_front(sequences):
    rng = np.random.default_rng(0)
    cfg = augment.AugmentConfig()
    batch = augment.synthesize(rng, [sequences[0]], 256, 27, cfg)
    assert batch.keypoints_px.shape == (256, 27, 17, 2) and batch.joints_cam_m.shape == (256, 17, 3)
    np.testing.assert_array_equal(batch.joints_cam_m[:, 0], 0.0)
    # camera frame: y down, so the head is above (smaller y than) the ankles in nearly every view
    head_y = batch.joints_cam_m[:, J["head"], 1]
    ankles_y = batch.joints_cam_m[:, [J["left_ankle"], J["right_ankle"]], 1].mean(1)
    assert np.mean(head_y < ankles_y) > 0.9

    joints = np.stack([sequences[0][:27]] * 64).astype(np.float64)
    K, R, centre, size = augment.random_cameras(rng, joints, cfg)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
    cam = augment.to_camera(joints, R, centre)
    assert np.all(cam[..., 2] > 1.0)  # in front of the camera
    px = augment.project(cam, K)
    inside = (px >= 0).all(-1) & (px[..., 0] < size[:, None, None, 0]) & (px[..., 1] < size[:, None, None, 1])
    assert inside.mean() > 0.8


def test_mirroring_swaps_sides_and_keeps_the_body(sequences):
    joints = sequences[0][None, :5].astype(np.float64)
    cfg = augment.AugmentConfig(mirror_prob=1.0)
    mirrored = augment.mirror(np.random.default_rng(0), joints, cfg)
    np.testing.assert_allclose(mirrored[..., J["left_wrist"], 1], -joints[..., J["right_wrist"], 1])
    np.testing.assert_allclose(bone_length(mirrored, "left_elbow", "left_wrist"),
                               bone_length(joints, "right_elbow", "right_wrist"))


def test_bone_scaling_keeps_the_skeleton_symmetric(sequences):
    joints = np.stack([sequences[1][:3]] * 32).astype(np.float64)
    scaled = augment.scale_bones(np.random.default_rng(0), joints, augment.AugmentConfig())
    np.testing.assert_allclose(scaled[..., 0, :], joints[..., 0, :])
    ratio_l = bone_length(scaled, "left_knee", "left_ankle") / bone_length(joints, "left_knee", "left_ankle")
    ratio_r = bone_length(scaled, "right_knee", "right_ankle") / bone_length(joints, "right_knee", "right_ankle")
    np.testing.assert_allclose(ratio_l, ratio_r)
    assert ratio_l.std() > 0.01


def test_limb_rotation_turns_whole_limbs_rigidly_and_the_same_in_every_frame(sequences):
    joints = np.stack([sequences[0][:20]] * 16).astype(np.float64)
    turned = augment.rotate_limbs(np.random.default_rng(0), joints,
                                  augment.AugmentConfig(limb_rotation_prob=1.0, limb_rotation_deg=90.0))
    torso = [J[n] for n in ("pelvis", "spine", "thorax", "neck_nose", "head", "left_hip", "right_hip",
                            "left_shoulder", "right_shoulder")]
    np.testing.assert_array_equal(turned[:, :, torso], joints[:, :, torso])
    for root, mid, end in (("left_hip", "left_knee", "left_ankle"), ("right_shoulder", "right_elbow", "right_wrist")):
        np.testing.assert_allclose(bone_length(turned, root, mid), bone_length(joints, root, mid))
        np.testing.assert_allclose(bone_length(turned, mid, end), bone_length(joints, mid, end))
        # One rotation for the whole window: dot products between the limb's directions at any two frames stay.
        before = joints[:, :, J[end]] - joints[:, :, J[root]]
        after = turned[:, :, J[end]] - turned[:, :, J[root]]
        np.testing.assert_allclose(after @ after.swapaxes(1, 2), before @ before.swapaxes(1, 2), atol=1e-9)
        assert np.abs(after - before).max() > 0.2


def test_limb_rotation_off_by_default_leaves_the_draws_unchanged(sequences):
    motion = list(sequences.values())
    off = augment.synthesize(np.random.default_rng(3), motion, 8, 9, augment.AugmentConfig())
    again = augment.synthesize(np.random.default_rng(3), motion, 8, 9, augment.AugmentConfig(limb_rotation_deg=30))
    np.testing.assert_array_equal(off.keypoints_px, again.keypoints_px)


def test_windows_end_on_their_frame_and_pad_with_the_first():
    seq = np.arange(10)
    windows = augment.causal_windows(seq, 4)
    np.testing.assert_array_equal(windows[:, -1], seq)
    np.testing.assert_array_equal(windows[1], [0, 0, 0, 1])
    rng = np.random.default_rng(0)
    idx = augment.window_indices(rng, np.array([500]), np.zeros(64, int), 81, augment.AugmentConfig())
    assert idx.shape == (64, 81) and idx.min() >= 0 and idx.max() < 500
    assert np.all(np.diff(idx, axis=1) >= 0)


def test_detector_noise_drops_joints_with_zero_confidence():
    rng = np.random.default_rng(0)
    kp = np.zeros((64, 27, 17, 2)) + np.linspace(0, 400, 17)[None, None, :, None]
    noisy, conf = augment.detector_noise(rng, kp, augment.AugmentConfig(drop_prob=(0.2, 0.2)))
    assert abs((conf == 0).mean() - 0.2) < 0.02
    assert conf.min() >= 0 and conf.max() <= 1 and np.abs(noisy - kp).max() > 0


def test_deepmimic_clips_walk_forward_upright_with_rigid_bones():
    """Forward kinematics of the pybullet DeepMimic clips: rigid, human-sized, z up, left on the left."""
    from pose3d_ros.data import deepmimic

    source = Path(__file__).resolve().parents[1] / "runs" / "data"
    if not list(source.glob("pybullet-*.whl")):
        pytest.skip(f"needs `pip download --no-deps pybullet==3.2.7 -d {source}`")
    clips = deepmimic.load_clips(source, fps=120.0)
    assert len(clips) == 15
    walk = clips["walk"]
    assert walk.shape[1:] == (17, 3) and len(walk) >= 8 * 120 - 1
    for a, b in H36M17.bones:
        assert np.linalg.norm(walk[:, a] - walk[:, b], axis=-1).std() < 0.005
    assert 0.38 < bone_length(walk, "left_hip", "left_knee").mean() < 0.46
    assert 1.4 < np.median(walk[:, J["head"], 2] - walk[:, J["left_ankle"], 2]) < 1.7
    velocity = np.diff(walk[:, 0], axis=0).mean(0) * 120.0
    assert 0.7 < np.linalg.norm(velocity) < 1.5  # m/s
    left = (walk[:, J["left_hip"]] - walk[:, J["right_hip"]]).mean(0)
    assert np.cross(velocity, left)[2] > 0
