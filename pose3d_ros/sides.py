"""Undo a 2D detector's left/right swaps: a tracked person's sides cannot trade places between two frames.

Single-view detectors (MediaPipe among them) sometimes label a person's left side as right and vice versa,
for tens of frames, when the person could be facing either way: the whole body, or only the legs or the arms.
Real motion moves a joint a little from one frame to the next; a swap moves every left joint onto the right
one's place. So when the mirrored labelling of the body, then of the legs, then of the arms lies much closer to
the track's previous frame than the labelling as given, that part of the frame is relabelled.
Bounded: at most ``max_tracks`` tracks remembered, the longest-unseen forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from pose3d_ros.layouts import Layout

# Joint kinds (the name after left_/right_) of each limb that a detector may swap on its own.
_LIMBS = ({"hip", "knee", "ankle", "heel", "foot_index"}, {"shoulder", "elbow", "wrist", "pinky", "index", "thumb"})


def _limb_flip(layout: Layout, kinds: set[str]) -> np.ndarray:
    """The permutation that swaps left and right of one limb's joints only."""
    full = layout.flip_permutation()
    return np.array([full[i] if name.split("_", 1)[-1] in kinds and name.startswith(("left_", "right_")) else i
                     for i, name in enumerate(layout.names)])


class SideSwapGuard:
    """Keeps each track's left/right labelling consistent from frame to frame.

    ratio: relabel when the mirrored keypoints are closer to the previous frame than ``ratio`` times the
    keypoints as given (mean over joints confident in both, at least ``min_confidence``).
    """

    def __init__(self, layout: Layout, ratio: float = 0.5, min_confidence: float = 0.3, max_tracks: int = 16):
        self.permutations = [layout.flip_permutation(), *(_limb_flip(layout, limb) for limb in _LIMBS)]
        self.ratio = ratio
        self.min_confidence = min_confidence
        self.max_tracks = max_tracks
        self._previous: OrderedDict[int, np.ndarray] = OrderedDict()
        self.swaps = 0

    def __len__(self) -> int:
        return len(self._previous)

    def reset(self) -> None:
        """Forget every track's previous frame (time jumped back)."""
        self._previous.clear()

    def apply(self, track_id: int, keypoints_px: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the frame's (J, 2) keypoints and (J,) confidences, relabelled if they were swapped."""
        previous = self._previous.pop(track_id, None)
        for permutation in self.permutations if previous is not None else ():
            mirrored = keypoints_px[permutation]
            seen = confidence >= self.min_confidence
            as_given = self._distance(keypoints_px, previous, seen)
            swapped = self._distance(mirrored, previous, seen[permutation])
            if swapped < self.ratio * as_given:
                keypoints_px, confidence = mirrored, confidence[permutation]
                self.swaps += 1
        self._previous[track_id] = keypoints_px
        if len(self._previous) > self.max_tracks:
            self._previous.popitem(last=False)
        return keypoints_px, confidence

    @staticmethod
    def _distance(a: np.ndarray, b: np.ndarray, seen: np.ndarray) -> float:
        d = np.linalg.norm(a - b, axis=-1)[seen & np.isfinite(a).all(-1) & np.isfinite(b).all(-1)]
        return float(d.mean()) if d.size else np.inf
