"""CMU clips from the isaaclab 3.0.0 wheel as H36M-17: the body-to-joint mapping, and the real clips when present."""

from pathlib import Path

import numpy as np
import pytest

from pose3d_ros.data import isaaclab_amp
from pose3d_ros.layouts import H36M17

J = H36M17.index
FPS = 120.0
SOURCE = Path(__file__).resolve().parents[1] / "runs" / "data"


def bone_length(joints, a, b):
    return np.linalg.norm(joints[:, J[a]] - joints[:, J[b]], axis=-1)


def test_bodies_map_to_their_joints_and_the_head_follows_the_head_link():
    rng = np.random.default_rng(0)
    positions = rng.normal(size=(4, len(isaaclab_amp.BODIES), 3))
    rotations = np.tile([1.0, 0.0, 0.0, 0.0], (4, len(isaaclab_amp.BODIES), 1))
    rotations[1, isaaclab_amp.BODIES.index("head")] = [np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0]  # 90 deg on x
    joints = isaaclab_amp.to_h36m(positions, rotations)
    body = {n: positions[:, i] for i, n in enumerate(isaaclab_amp.BODIES)}
    np.testing.assert_allclose(joints[:, J["left_knee"]], body["left_shin"])
    np.testing.assert_allclose(joints[:, J["right_wrist"]], body["right_hand"])
    np.testing.assert_allclose(joints[:, J["pelvis"]], 0.5 * (body["left_thigh"] + body["right_thigh"]))
    np.testing.assert_allclose(joints[0, J["head"]], body["head"][0] + [0.0, 0.0, isaaclab_amp.HEAD_TOP_M])
    np.testing.assert_allclose(joints[1, J["head"]], body["head"][1] + [0.0, -isaaclab_amp.HEAD_TOP_M, 0.0],
                               atol=1e-12)


@pytest.fixture(scope="module")
def clips():
    if not list(SOURCE.glob("isaaclab-*.whl")):
        pytest.skip("needs `pip download --no-deps --only-binary=:all: --python-version 3.12 isaaclab==3.0.0 "
                    f"-d {SOURCE}`")
    return isaaclab_amp.load_clips(SOURCE, fps=FPS)


def test_clips_last_as_long_as_the_30_hz_capture(clips):
    # 902, 82 and 154 frames stored at 60 fps, each twice: 451, 41 and 77 samples at 30 Hz, 15.0, 1.33 and 2.53 s
    assert {name: len(c) for name, c in clips.items()} == {"dance": 1801, "run": 161, "walk": 305}
    for joints in clips.values():
        assert joints.shape[1:] == (17, 3) and joints.dtype == np.float32
        assert np.all(np.any(np.diff(joints, axis=0) != 0, axis=(1, 2)))  # the stored repeats are gone


def test_bones_are_rigid_and_human_sized(clips):
    for joints in clips.values():
        for side in ("left", "right"):
            for a, b, length in ((f"{side}_hip", f"{side}_knee", 0.42), (f"{side}_knee", f"{side}_ankle", 0.41),
                                 (f"{side}_shoulder", f"{side}_elbow", 0.27), (f"{side}_elbow", f"{side}_wrist", 0.26)):
                bone = bone_length(joints, a, b)
                assert abs(bone.mean() - length) < 0.01 and bone.std() < 0.005
        assert bone_length(joints, "neck_nose", "head").std() < 1e-4


def test_walk_goes_forward_upright_with_left_on_the_left(clips):
    walk = clips["walk"]
    assert 1.4 < np.median(walk[:, J["head"], 2] - walk[:, [J["left_ankle"], J["right_ankle"]], 2].mean(1)) < 1.8
    velocity = (walk[-1, J["pelvis"]] - walk[0, J["pelvis"]]) / (len(walk) / FPS)
    assert 0.8 < np.linalg.norm(velocity[:2]) < 2.0 and abs(velocity[2]) < 0.05  # m/s, on level ground
    left = (walk[:, J["left_hip"]] - walk[:, J["right_hip"]]).mean(0)
    assert np.cross(velocity, left)[2] > 0
    run = clips["run"]
    assert np.linalg.norm(run[-1, J["pelvis"], :2] - run[0, J["pelvis"], :2]) / (len(run) / FPS) > 2.5
