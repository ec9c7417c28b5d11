"""Give each detected person a track id that stays the same from frame to frame.

A detection whose backend follows people itself (``Detection.source_id``, e.g. BlazePose's ROI tracking) stays
with the track that person had. The others are matched to live tracks by keypoint distance (normalised by the
track's size) to where each track is predicted to be now (constant velocity), with an optimal assignment; so a
person lost behind a tree or another person for up to ``max_age_s`` gets their id back. An unmatched detection
opens a track, a track unseen for ``max_age_s`` closes. Bounded: at most
``max_tracks`` tracks live at once, the longest-unseen one closing to make room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from pose3d_ros.detect import Detection

# Cost of a pair that must not match; finite, because the assignment solver rejects all-infinite rows.
_REJECTED = 1e6


@dataclass
class _Track:
    track_id: int
    keypoints_px: np.ndarray
    confidence: np.ndarray
    scale_px: float
    last_seen_ns: int
    source_id: int | None = None
    velocity_px_s: np.ndarray | None = None  # (2,) of the keypoints' mean, smoothed

    def predicted_px(self, stamp_ns: int) -> np.ndarray:
        """Keypoints (J, 2) moved on by the track's velocity to ``stamp_ns``."""
        if self.velocity_px_s is None:
            return self.keypoints_px
        return self.keypoints_px + self.velocity_px_s * (stamp_ns - self.last_seen_ns) * 1e-9


class Tracker:
    """Assigns stable ids (1, 2, ...) to detections across frames.

    max_cost: largest accepted mean keypoint distance, as a fraction of the track's bounding-box diagonal.
    max_age_s: a track not matched for this long is closed and its id never reused.
    """

    def __init__(self, max_cost: float = 0.5, max_age_s: float = 1.0, max_tracks: int = 16,
                 min_confidence: float = 0.3):
        if max_tracks < 1:
            raise ValueError(f"max_tracks is {max_tracks}; expected >= 1")
        self.max_cost = max_cost
        self.max_age_ns = int(max_age_s * 1e9)
        self.max_tracks = max_tracks
        self.min_confidence = min_confidence
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def num_tracks(self) -> int:
        return len(self._tracks)

    def reset(self) -> None:
        """Close every track (time jumped back); ids already given are still never reused."""
        self._tracks = []

    def update(self, detections: list[Detection], stamp_ns: int) -> list[int]:
        """Return one track id per detection, in order."""
        self._tracks = [t for t in self._tracks if stamp_ns - t.last_seen_ns <= self.max_age_ns]
        ids = [0] * len(detections)
        unmatched = set(range(len(detections)))
        by_source = {t.source_id: t for t in self._tracks if t.source_id is not None}
        for c, d in enumerate(detections):
            track = by_source.pop(d.source_id, None) if d.source_id is not None else None
            if track is not None:
                self._refresh(track, d, stamp_ns)
                ids[c] = track.track_id
                unmatched.discard(c)
        free = [t for t in self._tracks if t.track_id not in ids]
        if free and unmatched:
            pending = sorted(unmatched)
            cost = np.array([[self._cost(t, detections[c], stamp_ns) for c in pending] for t in free])
            # Gate before solving: otherwise two rejected pairs with a lower sum can beat one valid match.
            cost[cost > self.max_cost] = _REJECTED
            rows, cols = linear_sum_assignment(cost)
            for r, k in zip(rows, cols):
                if cost[r, k] <= self.max_cost:
                    c = pending[k]
                    self._refresh(free[r], detections[c], stamp_ns)
                    ids[c] = free[r].track_id
                    unmatched.discard(c)
        for c in sorted(unmatched):
            if len(self._tracks) >= self.max_tracks:
                self._tracks.remove(min(self._tracks, key=lambda t: t.last_seen_ns))
            track = _Track(self._next_id, detections[c].keypoints_px, detections[c].confidence, 1.0, stamp_ns)
            self._refresh(track, detections[c], stamp_ns)
            self._tracks.append(track)
            ids[c] = track.track_id
            self._next_id += 1
        return ids

    def _cost(self, track: _Track, det: Detection, stamp_ns: int) -> float:
        both = ((track.confidence >= self.min_confidence) & (det.confidence >= self.min_confidence)
                & np.isfinite(track.keypoints_px).all(-1) & np.isfinite(det.keypoints_px).all(-1))
        if not both.any():
            return _REJECTED
        predicted = track.predicted_px(stamp_ns)
        dist = np.linalg.norm(predicted[both] - det.keypoints_px[both], axis=-1).mean()
        return float(dist / track.scale_px)

    def _refresh(self, track: _Track, det: Detection, stamp_ns: int) -> None:
        dt_s = (stamp_ns - track.last_seen_ns) * 1e-9
        usable = (track.confidence >= self.min_confidence) & (det.confidence >= self.min_confidence)
        if 0 < dt_s <= 0.2 and usable.any():  # over longer gaps the motion is unknown, not constant
            step = (det.keypoints_px[usable] - track.keypoints_px[usable]).mean(axis=0) / dt_s
            previous = step if track.velocity_px_s is None else track.velocity_px_s
            track.velocity_px_s = 0.5 * step + 0.5 * previous
        track.keypoints_px = det.keypoints_px
        track.source_id = det.source_id
        track.confidence = det.confidence
        x0, y0, x1, y1 = det.bbox_px
        track.scale_px = max(float(np.hypot(x1 - x0, y1 - y0)), 1.0)
        track.last_seen_ns = stamp_ns
