"""One body per track: bone lengths learnt over the first frames, then kept by every frame's skeleton."""

from __future__ import annotations

import numpy as np

from conftest import STANDING_M
from pose3d_ros.bones import BoneLengths
from pose3d_ros.layouts import H36M17

BONES = np.array(H36M17.bones)


def _lengths(joints: np.ndarray) -> np.ndarray:
    return np.linalg.norm(joints[BONES[:, 1]] - joints[BONES[:, 0]], axis=1)


def _jittered(rng: np.random.Generator, joints: np.ndarray, share: float) -> np.ndarray:
    """``joints`` with every bone stretched by its own random factor within 1 +- share, directions kept."""
    out = joints.copy()
    for (parent, child), factor in zip(BONES, 1 + rng.uniform(-share, share, len(BONES))):
        out[child] = out[parent] + (joints[child] - joints[parent]) * factor
    return out


def test_a_track_converges_to_its_median_bone_lengths_and_keeps_them():
    rng = np.random.default_rng(0)
    bones = BoneLengths(converge_frames=30)
    truth = _lengths(STANDING_M)
    for _ in range(30):
        bones.apply(1, _jittered(rng, STANDING_M, 0.1))
    np.testing.assert_allclose(bones.lengths_m(1), truth, rtol=0.03)
    frame = _jittered(rng, STANDING_M, 0.1)
    out = bones.apply(1, frame)
    np.testing.assert_allclose(_lengths(out), bones.lengths_m(1), rtol=1e-9)
    np.testing.assert_array_equal(out[0], frame[0])
    for parent, child in BONES:  # directions are the lifter's
        lifted, kept = frame[child] - frame[parent], out[child] - out[parent]
        np.testing.assert_allclose(kept / np.linalg.norm(kept), lifted / np.linalg.norm(lifted), atol=1e-9)


def test_left_and_right_bones_share_one_length():
    bones = BoneLengths(converge_frames=1)
    lopsided = STANDING_M.copy()
    lopsided[H36M17.index["left_knee"]] *= [1, 1.2, 1]  # left thigh 0.54 m, right 0.45 m
    bones.apply(1, lopsided)
    lengths = dict(zip([(H36M17.names[a], H36M17.names[b]) for a, b in BONES], bones.lengths_m(1)))
    assert lengths[("left_hip", "left_knee")] == lengths[("right_hip", "right_knee")]


def test_tracks_are_separate_bounded_and_reset():
    bones = BoneLengths(converge_frames=2, max_tracks=2)
    for track, scale in ((1, 1.0), (2, 1.2), (3, 0.9)):
        bones.apply(track, STANDING_M * scale)
    assert bones.lengths_m(1) is None, "the least recently seen track makes room"
    np.testing.assert_allclose(bones.lengths_m(2), 1.2 * _lengths(STANDING_M))
    bones.reset()
    assert bones.lengths_m(2) is None and bones.lengths_m(3) is None
