"""Per-person causal windows of 2D keypoints: the last T frames of each track, oldest first.

Each push and each window costs the same whatever a person's history: a fixed ring of T frames per track.
A track seen for fewer than T frames is padded by repeating its first frame (the edge padding lifters are
trained with), so people who just appeared are lifted at once. Bounded: at most ``max_tracks`` rings; a
track unseen for ``max_gap_s`` starts over, and the longest-unseen track makes room for a new one.
"""

from __future__ import annotations

import numpy as np


class StampError(ValueError):
    """A frame older than the newest one already buffered for the same track."""


class _Ring:
    def __init__(self, frames: int, joints: int):
        self.keypoints_px = np.zeros((frames, joints, 2), np.float32)
        self.confidence = np.zeros((frames, joints), np.float32)
        self.count = 0
        self.last_ns = 0

    def clear(self) -> None:
        self.count = 0


class CausalBuffer:
    """Windows of the last ``frames`` 2D skeletons per track id."""

    def __init__(self, frames: int, joints: int, max_tracks: int = 16, max_gap_s: float = 0.5):
        if frames < 1 or joints < 1 or max_tracks < 1:
            raise ValueError(f"frames={frames}, joints={joints}, max_tracks={max_tracks}; expected each >= 1")
        self.frames = frames
        self.joints = joints
        self.max_tracks = max_tracks
        self.max_gap_ns = int(max_gap_s * 1e9)
        self._rings: dict[int, _Ring] = {}

    def __len__(self) -> int:
        return len(self._rings)

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._rings

    def reset(self) -> None:
        """Forget every window (time jumped back)."""
        self._rings.clear()

    def push(self, track_id: int, stamp_ns: int, keypoints_px: np.ndarray, confidence: np.ndarray) -> None:
        """Append one frame, (J, 2) pixels and (J,) confidences, to a track's window.

        Raises StampError if ``stamp_ns`` is older than the track's newest frame (the frame is not stored).
        """
        ring = self._rings.get(track_id)
        if ring is None:
            if len(self._rings) >= self.max_tracks:
                del self._rings[min(self._rings, key=lambda k: self._rings[k].last_ns)]
            ring = self._rings[track_id] = _Ring(self.frames, self.joints)
        elif ring.count and stamp_ns < ring.last_ns:
            raise StampError(
                f"track {track_id}: stamp {stamp_ns} ns is {(ring.last_ns - stamp_ns) / 1e6:.1f} ms older than "
                f"its newest frame ({ring.last_ns} ns); expected stamps that do not go backwards"
            )
        elif stamp_ns - ring.last_ns > self.max_gap_ns:
            ring.clear()
        slot = ring.count % self.frames
        ring.keypoints_px[slot] = keypoints_px
        ring.confidence[slot] = confidence
        ring.count += 1
        ring.last_ns = stamp_ns

    def window(self, track_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the track's window, (T, J, 2) pixels and (T, J) confidences, newest frame last."""
        ring = self._rings[track_id]
        t = self.frames
        if ring.count >= t:
            order = (np.arange(t) + ring.count) % t
        else:
            order = np.concatenate([np.zeros(t - ring.count, int), np.arange(ring.count)])
        return ring.keypoints_px[order], ring.confidence[order]

    def drop_stale(self, now_ns: int) -> list[int]:
        """Forget tracks unseen for longer than ``max_gap_s``; return their ids."""
        stale = [k for k, r in self._rings.items() if now_ns - r.last_ns > self.max_gap_ns]
        for k in stale:
            del self._rings[k]
        return stale
