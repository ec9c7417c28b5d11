"""MediaPipe's relative-velocity landmark filter: a low-pass filter whose strength follows how fast the person
moves relative to their own size, so a still person's keypoints stop jittering while fast motion is not
dragged behind. Causal: each output depends on the current and past frames only.

Constants as MediaPipe's pose graph sets them: a velocity window of 5 frames and a velocity scale of 10.
"""

from __future__ import annotations

from collections import deque

import numpy as np

_ASSUMED_MAX_FPS = 30.0


class VelocityFilter:
    """Smooths (J, D) points of one person over time.

    Each frame, the speed of every coordinate over the last frames (at most ``window`` of them, and no more
    than about (window + 1) / 30 s) is measured in units of the person's size per second; the new value is
    blended in with alpha = 1 - 1 / (1 + velocity_scale * |speed|), so alpha nears 1 (no smoothing) for fast
    motion and 0 (hold) for none.
    """

    def __init__(self, window: int = 5, velocity_scale: float = 10.0):
        self.window = window
        self.velocity_scale = velocity_scale
        self._steps: deque[tuple[np.ndarray, float]] = deque(maxlen=window)  # (distance, seconds), newest first
        self._last: tuple[float, np.ndarray, float] | None = None  # stamp_s, raw value, value scale
        self._filtered: np.ndarray | None = None

    def reset(self) -> None:
        self._steps.clear()
        self._last = None
        self._filtered = None

    def apply(self, stamp_s: float, points: np.ndarray, size: float) -> np.ndarray:
        """points (J, D) at ``stamp_s``; size: the person's size in the points' unit (> 0). Returns (J, D)."""
        scale = 1.0 / max(size, 1e-6)
        if self._last is None or self._filtered is None or stamp_s <= self._last[0]:
            self.reset()
            alpha = np.ones_like(points)
        else:
            distance = scale * (points - self._last[1])
            duration = stamp_s - self._last[0]
            total_distance, total_s = distance.copy(), duration
            horizon_s = (1 + self.window) / _ASSUMED_MAX_FPS
            for past_distance, past_s in self._steps:
                if total_s + past_s > horizon_s:
                    break
                total_distance += past_distance
                total_s += past_s
            speed = np.abs(total_distance) / total_s
            alpha = 1.0 - 1.0 / (1.0 + self.velocity_scale * speed)
            self._steps.appendleft((distance, duration))
        self._last = (stamp_s, points.copy(), scale)
        previous = points if self._filtered is None else self._filtered
        self._filtered = alpha * points + (1.0 - alpha) * previous
        return self._filtered.copy()
