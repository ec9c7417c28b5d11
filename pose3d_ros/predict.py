"""Where each person is now, not when the camera fired: causal extrapolation of camera-frame skeletons.

A robot reacting to a person acts on output that is already the pipeline's latency old. Per track, a
straight line is fitted by least squares to each joint's last ``history`` positions against their stamps
(so uneven frame spacing and dropped frames are fine) and read off ``lookahead`` past the newest one.
The fitted speed is capped at ``max_speed_mps``, so a glitch cannot throw a limb across the room.
Bounded: at most ``max_tracks`` histories, the longest-unseen making room.
"""

from __future__ import annotations

import numpy as np


class MotionExtrapolator:
    """Per-track constant-velocity prediction of (J, 3) joint positions."""

    def __init__(self, history: int = 6, max_tracks: int = 16, max_speed_mps: float = 4.0, max_gap_s: float = 0.5):
        if history < 2:
            raise ValueError(f"history is {history}; expected >= 2 frames to estimate a velocity")
        self.history = history
        self.max_tracks = max_tracks
        self.max_speed_mps = max_speed_mps
        self.max_gap_ns = int(max_gap_s * 1e9)
        self._tracks: dict[int, tuple[list[int], list[np.ndarray]]] = {}

    def reset(self) -> None:
        """Forget every track's motion (time jumped back)."""
        self._tracks.clear()

    def update(self, track_id: int, stamp_ns: int, joints_m: np.ndarray) -> None:
        """Add a track's (J, 3) joints at ``stamp_ns`` (stamps of one track must increase)."""
        stamps, joints = self._tracks.get(track_id, ([], []))
        if stamps and (stamp_ns <= stamps[-1] or stamp_ns - stamps[-1] > self.max_gap_ns):
            stamps, joints = [], []
        if track_id not in self._tracks and len(self._tracks) >= self.max_tracks:
            del self._tracks[min(self._tracks, key=lambda k: self._tracks[k][0][-1])]
        stamps.append(stamp_ns)
        joints.append(np.asarray(joints_m, np.float64))
        self._tracks[track_id] = (stamps[-self.history:], joints[-self.history:])

    def predict(self, track_id: int, lookahead_s: float) -> np.ndarray:
        """The track's (J, 3) joints ``lookahead_s`` after its newest frame; with one frame, that frame."""
        stamps, joints = self._tracks[track_id]
        newest = joints[-1]
        if len(stamps) < 2 or lookahead_s <= 0:
            return newest
        t = (np.asarray(stamps, np.float64) - stamps[-1]) * 1e-9
        x = np.stack(joints)
        t_mean = t.mean()
        velocity = np.tensordot(t - t_mean, x - x.mean(axis=0), axes=(0, 0)) / ((t - t_mean) ** 2).sum()
        # Anchor at the fitted line's value now, which is less noisy than the newest sample alone.
        now = x.mean(axis=0) - t_mean * velocity
        speed = np.linalg.norm(velocity, axis=-1, keepdims=True)
        velocity *= np.minimum(1.0, self.max_speed_mps / np.maximum(speed, 1e-12))
        return now + lookahead_s * velocity

    def drop_stale(self, now_ns: int) -> None:
        """Forget tracks unseen for longer than ``max_gap_s``."""
        for k in [k for k, (stamps, _) in self._tracks.items() if now_ns - stamps[-1] > self.max_gap_ns]:
            del self._tracks[k]
