"""MotionExtrapolator: causal constant-velocity prediction of camera-frame skeletons."""

import numpy as np
import pytest

from pose3d_ros.predict import MotionExtrapolator

RNG = np.random.default_rng(3)
POSE = RNG.normal(size=(17, 3))


def test_constant_velocity_is_predicted_exactly_with_uneven_stamps():
    velocity = np.array([0.8, 0.0, -0.5])
    stamps_ns = np.cumsum(RNG.integers(20_000_000, 50_000_000, size=8))
    motion = MotionExtrapolator(history=6)
    for t in stamps_ns:
        motion.update(1, int(t), POSE + velocity * t * 1e-9)
    expected = POSE + velocity * (stamps_ns[-1] * 1e-9 + 0.1)
    assert np.allclose(motion.predict(1, 0.1), expected, atol=1e-9)


def test_no_lookahead_or_one_frame_gives_the_newest_pose():
    motion = MotionExtrapolator()
    motion.update(1, 0, POSE)
    assert np.array_equal(motion.predict(1, 0.1), POSE)
    motion.update(1, 33_000_000, POSE + 1)
    assert np.array_equal(motion.predict(1, 0.0), POSE + 1)


def test_speed_is_capped():
    motion = MotionExtrapolator(max_speed_mps=2.0)
    motion.update(1, 0, POSE)
    motion.update(1, 10_000_000, POSE + [1.0, 0, 0])  # 100 m/s: a glitch
    jump = motion.predict(1, 0.5) - motion.predict(1, 0.25)
    assert np.allclose(np.linalg.norm(jump, axis=-1), 2.0 * 0.25)


def test_a_gap_or_a_stamp_going_back_restarts_the_history():
    motion = MotionExtrapolator(max_gap_s=0.5)
    motion.update(1, 0, POSE)
    motion.update(1, 100_000_000, POSE + 1)
    motion.update(1, 900_000_000, POSE + 5)
    assert np.array_equal(motion.predict(1, 0.2), POSE + 5)
    motion.update(1, 800_000_000, POSE)
    assert np.array_equal(motion.predict(1, 0.2), POSE)


def test_tracks_are_bounded_and_independent():
    motion = MotionExtrapolator(max_tracks=2)
    motion.update(1, 0, POSE)
    motion.update(2, 10, POSE + 1)
    motion.update(3, 20, POSE + 2)
    with pytest.raises(KeyError):
        motion.predict(1, 0.1)
    assert np.array_equal(motion.predict(3, 0.1), POSE + 2)
    motion.drop_stale(10**10)
    with pytest.raises(KeyError):
        motion.predict(3, 0.1)


def test_history_below_two_is_refused():
    with pytest.raises(ValueError, match="history is 1"):
        MotionExtrapolator(history=1)
