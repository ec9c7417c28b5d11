"""People seen by several calibrated cameras: who is who across the views in one frame, who is who over
time, and how far each view's frames are shifted in time. Plain numpy on undistorted keypoints (H36M-17).

    associate(...)        one frame's detections in V views -> people (one detection per view, or none)
    link_identities(...)  each frame's people -> identities over time, by pelvis proximity
    frame_offsets(...)    people's moving keypoints -> each view's frame offset (unsynchronised cameras)
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment

from pose3d_ros.eval.triangulate import (
    MIN_CONFIDENCE,
    estimate_frame_offsets,
    reprojection_error_px,
    shift_frames,
    triangulate,
)
from pose3d_ros.layouts import H36M17

# The torso's mid-line: a left/right swap (common for a person seen from behind) leaves these joints in place.
TORSO = tuple(H36M17.index[n] for n in ("pelvis", "spine", "thorax", "neck_nose"))
# Association: a view is another person when its torso reprojects further than this share of its detection's
# height from the torso triangulated with the other views; a view left out of a person costs as much.
MAX_ASSOCIATION_ERROR = 0.1
# A person's pelvis moves less than this between the frames they are seen in (1.5 m/s over 1/3 s).
MAX_LINK_M = 0.5
# A keypoint moving slower than this (px per frame) says nothing about time: synchronisation leaves it out.
MIN_SYNC_SPEED_PX = 3.0
MIN_SYNC_POINTS = 100  # moving keypoints two views must share to synchronise one with the other
_REJECTED = 1e6  # assignment cost of a pair that must not match


def associate(keypoints_px: np.ndarray, confidence: np.ndarray, view: np.ndarray, height_px: np.ndarray,
              K: np.ndarray, R: np.ndarray, t: np.ndarray, max_error: float = MAX_ASSOCIATION_ERROR) -> np.ndarray:
    """One frame's people across V views.

    keypoints_px: (D, 17, 2) undistorted pixels of the frame's D detections in all views; confidence: (D, 17);
    view: (D,) each one's view; height_px: (D,) each one's height. Every combination of at most one detection
    per view and at least two views is triangulated (weighted DLT) on its confident torso joints; a view's error
    is its mean torso reprojection error over its detection's height. Combinations where a view's error exceeds
    ``max_error`` are rejected; the cost of the others is the sum of their views' errors plus
    MAX_ASSOCIATION_ERROR per view left out, so a view joins a person only when that costs less than leaving it
    out (a person on the line of sight of someone a view misses does not join them, even under the looser gate
    before synchronisation). They are taken best first, each detection once.
    Returns (G, V) int: each person's detection per view (index into the D), -1 where none.
    """
    V = len(K)
    combos = np.array(list(itertools.product(*([-1, *np.flatnonzero(view == v)] for v in range(V))))).reshape(-1, V)
    combos = combos[(combos >= 0).sum(axis=1) >= 2]
    if not len(combos):
        return np.zeros((0, V), int)
    inside = combos >= 0  # (C, V)
    kp = keypoints_px[combos][:, :, TORSO].transpose(1, 0, 2, 3).reshape(V, -1, 2)  # (V, C * 4, 2)
    conf = np.where(inside[..., None], confidence[combos][:, :, TORSO], 0.0).transpose(1, 0, 2).reshape(V, -1)
    error = reprojection_error_px(triangulate(kp, conf, K, R, t), kp, K, R, t)
    used = (conf >= MIN_CONFIDENCE) & np.isfinite(error)
    error_sum = np.where(used, error, 0.0).reshape(V, -1, len(TORSO)).sum(axis=-1).T  # (C, V)
    count = used.reshape(V, -1, len(TORSO)).sum(axis=-1).T
    with np.errstate(invalid="ignore", divide="ignore"):
        view_error = error_sum / count / height_px[combos]
    valid = np.where(inside, view_error <= max_error, True).all(axis=1)  # NaN (no joint used) is rejected
    cost = np.where(inside, view_error, 0.0).sum(axis=1) + MAX_ASSOCIATION_ERROR * (V - inside.sum(axis=1))
    groups, taken = [], np.zeros(len(keypoints_px), bool)
    for c in np.flatnonzero(valid)[np.argsort(cost[valid], kind="stable")]:
        chosen = combos[c][inside[c]]
        if not taken[chosen].any():
            taken[chosen] = True
            groups.append(combos[c])
    return np.array(groups, int).reshape(-1, V)


def link_identities(centres_m: list[np.ndarray], max_step_m: float = MAX_LINK_M) -> list[np.ndarray]:
    """Identities over frames from each frame's people: centres_m[f] is (G_f, 3), their pelvis in metres.

    Frame by frame, people are assigned to the identities by least total distance to where each identity was
    last seen (optimal assignment), pairs further than ``max_step_m`` apart excluded; a person left over opens
    a new identity. Returns per frame (G_f,) int identities 0, 1, ... in order of appearance; -1 for a NaN centre.
    """
    last_m = np.zeros((0, 3))
    identities = []
    for centres in centres_m:
        ids = np.full(len(centres), -1)
        known = np.flatnonzero(np.isfinite(centres).all(axis=1))
        if len(known) and len(last_m):
            distance = np.linalg.norm(centres[known, None] - last_m[None], axis=-1)
            cost = np.where(distance <= max_step_m, distance, _REJECTED)
            for r, c in zip(*linear_sum_assignment(cost)):
                if cost[r, c] < _REJECTED:
                    ids[known[r]] = c
        for g in known[ids[known] < 0]:
            ids[g] = len(last_m)
            last_m = np.vstack([last_m, np.zeros((1, 3))])
        last_m[ids[known]] = centres[known]
        identities.append(ids)
    return identities


def frame_offsets(keypoints_px: np.ndarray, confidence: np.ndarray, K: np.ndarray, R: np.ndarray,
                  t: np.ndarray) -> np.ndarray:
    """(V,) integer offsets as estimate_frame_offsets defines them (view v's frame f + offsets[v] is simultaneous
    with view 0's frame f), from (V, F, J, 2) undistorted keypoints and (V, F, J) confidences of people.

    Only keypoints moving >= MIN_SYNC_SPEED_PX per frame take part: a still one says nothing about time but adds
    its noise. estimate_frame_offsets runs on every pair of views sharing >= MIN_SYNC_POINTS such keypoints;
    then, from view 0, each view is synchronised through the pair that agrees best at its own offset (median
    two-view reprojection error, px), as in a minimum spanning tree. A pair can fail where another does not: on
    the demo, cam03 sees only a person who hardly moves and whom cam01 sees from behind, and that pair alone puts
    cam03 10 frames off, where cam04 agrees with it at 0 (as do the wrists' rise and fall in every view).
    """
    V = len(K)
    moving = np.linalg.norm(np.gradient(keypoints_px, axis=1), axis=-1) >= MIN_SYNC_SPEED_PX  # NaN: False
    confidence = np.where(moving, confidence, 0.0)
    offset, error = np.zeros((V, V), int), np.full((V, V), np.inf)  # [u, v]: view v's offset from view u alone
    for u, v in itertools.combinations(range(V), 2):
        pair = [u, v]
        if ((confidence[pair] >= MIN_CONFIDENCE).all(axis=0)).sum() < MIN_SYNC_POINTS:
            continue
        shift = estimate_frame_offsets(keypoints_px[pair], confidence[pair], K[pair], R[pair], t[pair])
        kp = shift_frames(keypoints_px[pair], shift).reshape(2, -1, 2)
        points = triangulate(kp, shift_frames(confidence[pair], shift, fill=0.0).reshape(2, -1), K[pair], R[pair],
                             t[pair])
        residual = reprojection_error_px(points, kp, K[pair], R[pair], t[pair])[:, np.isfinite(points[:, 0])]
        offset[u, v], offset[v, u] = shift[1], -shift[1]
        error[u, v] = error[v, u] = np.median(residual)
    offsets, synced = np.zeros(V, int), [0]
    while len(synced) < V:
        candidates = np.where(np.isin(np.arange(V), synced), np.inf, error[synced])  # (S, V)
        s, v = np.unravel_index(np.argmin(candidates), candidates.shape)
        if not np.isfinite(candidates[s, v]):
            raise ValueError(f"views {[n for n in range(V) if n not in synced]} share no moving person with views "
                             f"{synced}; cannot synchronise them")
        offsets[v] = offsets[synced[s]] + offset[synced[s], v]
        synced.append(int(v))
    return offsets
