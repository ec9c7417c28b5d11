"""One body per track: a person's bone lengths do not change, so each track keeps an estimate of them and every
frame's skeleton is made to keep them (plain numpy, causal).

The estimate of each bone is the median of its lifted length over the track's first ``converge_frames`` frames
(one second at 30 fps), the left and right bones of a pair pooled (people are near symmetric, and a pair's two
estimates then share their noise); after that it is fixed. A frame's skeleton keeps the lifter's bone
directions and takes the estimated lengths, rebuilt outward from the pelvis. Frames: whatever frame the joints
are in (root-relative, metres); only lengths change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Container
from dataclasses import dataclass, field

import numpy as np

from pose3d_ros.layouts import H36M17, Layout


def _mirror(name: str) -> str:
    return name.replace("left", "\0").replace("right", "left").replace("\0", "right")


@dataclass
class _Track:
    samples: list[np.ndarray] = field(default_factory=list)  # (B,) bone lengths per frame, until converged
    lengths_m: np.ndarray | None = None


class BoneLengths:
    """Per-track bone lengths of ``layout``'s tree (bones listed parents first), for at most ``max_tracks``
    tracks (the least recently seen is forgotten first)."""

    def __init__(self, layout: Layout = H36M17, converge_frames: int = 30, max_tracks: int = 64):
        self.bones = np.array(layout.bones)
        self.converge_frames = converge_frames
        self.max_tracks = max_tracks
        names = [(layout.names[a], layout.names[b]) for a, b in layout.bones]
        index = {pair: i for i, pair in enumerate(names)}
        # Each bone's mirror (itself for the spine and head): their lengths are pooled.
        self._mirror = np.array([index.get((_mirror(a), _mirror(b)), i) for i, (a, b) in enumerate(names)])
        self._tracks: OrderedDict[int, _Track] = OrderedDict()

    def reset(self) -> None:
        """Forget every track (time jumped back)."""
        self._tracks.clear()

    def keep(self, track_ids: Container[int]) -> None:
        """Forget the tracks not in ``track_ids`` (the tracks still followed)."""
        for track_id in [t for t in self._tracks if t not in track_ids]:
            del self._tracks[track_id]

    def lengths_m(self, track_id: int) -> np.ndarray | None:
        """The track's (B,) bone lengths in ``layout.bones`` order, None before its first frame."""
        track = self._tracks.get(track_id)
        if track is None or (track.lengths_m is None and not track.samples):
            return None
        return track.lengths_m if track.lengths_m is not None else self._estimate(track.samples)

    def apply(self, track_id: int, joints_m: np.ndarray) -> np.ndarray:
        """Learn from this frame's (J, 3) joints (while the track converges) and return them with the track's bone
        lengths: each bone keeps its direction, the skeleton is rebuilt from the root (joint 0) outward. A bone
        of zero or non-finite length keeps the lifted joint."""
        joints_m = np.asarray(joints_m, np.float64)
        vectors = joints_m[self.bones[:, 1]] - joints_m[self.bones[:, 0]]
        lengths = np.linalg.norm(vectors, axis=1)
        track = self._tracks.pop(track_id, None) or _Track()
        self._tracks[track_id] = track
        while len(self._tracks) > self.max_tracks:
            self._tracks.popitem(last=False)
        if track.lengths_m is None and np.isfinite(lengths).all():
            track.samples.append(lengths)
            if len(track.samples) >= self.converge_frames:
                track.lengths_m, track.samples = self._estimate(track.samples), []
        target = self.lengths_m(track_id)
        if target is None:
            return joints_m
        out = joints_m.copy()
        for (parent, child), vector, length, wanted in zip(self.bones, vectors, lengths, target):
            if length > 1e-9 and np.isfinite(length):
                out[child] = out[parent] + vector * (wanted / length)
            else:
                out[child] = out[parent] + vector
        return out

    def _estimate(self, samples: list[np.ndarray]) -> np.ndarray:
        median = np.median(np.stack(samples), axis=0)
        return (median + median[self._mirror]) / 2
