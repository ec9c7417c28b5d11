"""CausalBuffer: oldest-first windows after wrap-around, edge padding, stamp and gap handling, fixed-size rings."""

import numpy as np
import pytest

from pose3d_ros.buffer import CausalBuffer, StampError

T, J = 5, 3
FRAME_NS = 33_333_333


def _frame(value: float) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints and confidences that carry ``value`` so a window's order can be read back."""
    return np.full((J, 2), value, np.float32), np.full(J, value / 100.0, np.float32)


def _push(buffer: CausalBuffer, track_id: int, index: int, stamp_ns: int | None = None) -> None:
    buffer.push(track_id, index * FRAME_NS if stamp_ns is None else stamp_ns, *_frame(index))


def _frames_in(buffer: CausalBuffer, track_id: int) -> list[float]:
    keypoints_px, confidence = buffer.window(track_id)
    assert keypoints_px.shape == (T, J, 2) and confidence.shape == (T, J)
    np.testing.assert_allclose(confidence, keypoints_px[..., 0] / 100.0, rtol=1e-6)
    return keypoints_px[:, 0, 0].tolist()


@pytest.mark.parametrize("pushes", [T, T + 1, 2 * T - 1, 3 * T + 2])
def test_window_is_oldest_first_after_wrap_around(pushes):
    buffer = CausalBuffer(T, J)
    for i in range(1, pushes + 1):
        _push(buffer, 7, i)
    assert _frames_in(buffer, 7) == list(range(pushes - T + 1, pushes + 1))


@pytest.mark.parametrize("pushes, expected", [(1, [1, 1, 1, 1, 1]), (3, [1, 1, 1, 2, 3])])
def test_new_track_is_padded_with_its_first_frame(pushes, expected):
    buffer = CausalBuffer(T, J)
    for i in range(1, pushes + 1):
        _push(buffer, 1, i)
    assert _frames_in(buffer, 1) == expected


def test_backwards_stamp_raises_and_is_not_stored():
    buffer = CausalBuffer(T, J)
    _push(buffer, 1, 1, stamp_ns=100)
    _push(buffer, 1, 2, stamp_ns=200)
    with pytest.raises(StampError, match="stamp 150 ns"):
        _push(buffer, 1, 9, stamp_ns=150)
    assert _frames_in(buffer, 1) == [1, 1, 1, 1, 2]
    _push(buffer, 1, 3, stamp_ns=250)
    assert _frames_in(buffer, 1) == [1, 1, 1, 2, 3]


def test_gap_longer_than_max_gap_restarts_the_window():
    buffer = CausalBuffer(T, J, max_gap_s=0.5)
    for i in range(1, 4):
        _push(buffer, 1, i)
    _push(buffer, 1, 4, stamp_ns=3 * FRAME_NS + 400_000_000)  # within the gap: continues
    assert _frames_in(buffer, 1) == [1, 1, 2, 3, 4]
    _push(buffer, 1, 5, stamp_ns=3 * FRAME_NS + 1_000_000_000)
    assert _frames_in(buffer, 1) == [5, 5, 5, 5, 5]


def test_max_tracks_evicts_the_longest_unseen():
    buffer = CausalBuffer(T, J, max_tracks=2)
    _push(buffer, 1, 1, stamp_ns=0)
    _push(buffer, 2, 1, stamp_ns=10)
    _push(buffer, 1, 2, stamp_ns=20)
    _push(buffer, 3, 1, stamp_ns=30)
    assert len(buffer) == 2
    assert 1 in buffer and 3 in buffer and 2 not in buffer
    assert _frames_in(buffer, 1) == [1, 1, 1, 1, 2]


def test_drop_stale_forgets_only_tracks_past_the_gap():
    buffer = CausalBuffer(T, J, max_gap_s=0.5)
    _push(buffer, 1, 1, stamp_ns=0)
    _push(buffer, 2, 1, stamp_ns=400_000_000)
    assert buffer.drop_stale(700_000_000) == [1]
    assert 1 not in buffer and 2 in buffer
    assert buffer.drop_stale(800_000_000) == []
    with pytest.raises(KeyError):
        buffer.window(1)


def test_rings_keep_their_size_however_long_a_track_lives():
    buffer = CausalBuffer(T, J)
    _push(buffer, 1, 1)
    ring = buffer._rings[1]
    keypoints, confidence = ring.keypoints_px, ring.confidence
    for i in range(2, 10 * T + 1):
        _push(buffer, 1, i)
    assert buffer._rings[1] is ring
    assert ring.keypoints_px is keypoints and ring.keypoints_px.shape == (T, J, 2)
    assert ring.confidence is confidence and ring.confidence.shape == (T, J)
    assert _frames_in(buffer, 1) == list(range(9 * T + 1, 10 * T + 1))


def test_rejects_empty_sizes():
    with pytest.raises(ValueError, match="frames=0"):
        CausalBuffer(0, J)
