"""Give each detected person a track id that stays the same from frame to frame.

Detections are matched to live tracks by keypoint distance (normalised by the track's size) with an optimal
assignment; an unmatched detection opens a track, a track unseen for ``max_age_s`` closes. Bounded: at most
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

    def update(self, detections: list[Detection], stamp_ns: int) -> list[int]:
        """Return one track id per detection, in order."""
        self._tracks = [t for t in self._tracks if stamp_ns - t.last_seen_ns <= self.max_age_ns]
        ids = [0] * len(detections)
        unmatched = set(range(len(detections)))
        if self._tracks and detections:
            cost = np.array([[self._cost(t, d) for d in detections] for t in self._tracks])
            # Gate before solving: otherwise two rejected pairs with a lower sum can beat one valid match.
            cost[cost > self.max_cost] = _REJECTED
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] <= self.max_cost:
                    self._refresh(self._tracks[r], detections[c], stamp_ns)
                    ids[c] = self._tracks[r].track_id
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

    def _cost(self, track: _Track, det: Detection) -> float:
        both = ((track.confidence >= self.min_confidence) & (det.confidence >= self.min_confidence)
                & np.isfinite(track.keypoints_px).all(-1) & np.isfinite(det.keypoints_px).all(-1))
        if not both.any():
            return _REJECTED
        dist = np.linalg.norm(track.keypoints_px[both] - det.keypoints_px[both], axis=-1).mean()
        return float(dist / track.scale_px)

    @staticmethod
    def _refresh(track: _Track, det: Detection, stamp_ns: int) -> None:
        track.keypoints_px = det.keypoints_px
        track.confidence = det.confidence
        x0, y0, x1, y1 = det.bbox_px
        track.scale_px = max(float(np.hypot(x1 - x0, y1 - y0)), 1.0)
        track.last_seen_ns = stamp_ns
