"""Multi-person reference on Pose2Sim's Demo_MultiPerson: people associated across views, linked over frames and
synchronised, on two synthetic people seen by four synthetic cameras with known answers; then the real demo."""

from __future__ import annotations

import time
from dataclasses import fields

import numpy as np
import pytest

from pose3d_ros.eval.association import associate, frame_offsets, link_identities
from pose3d_ros.eval.pose2sim_multi import (
    Detections,
    MultiPersonReference,
    build_multiperson_reference,
    evaluate_multiperson,
    score_views,
)
from pose3d_ros.eval.triangulate import project

FPS = 60.0
FRAMES = 40
SIZE = 1000  # square images, px
# A standing person in the world (x, y on the floor, z up, metres), H36M-17, pelvis at the origin.
BODY_M = np.array([[0, 0, 0], [-.12, 0, 0], [-.12, 0, -.45], [-.12, 0, -.9], [.12, 0, 0], [.12, 0, -.45],
                   [.12, 0, -.9], [0, 0, .25], [0, 0, .5], [0, -.05, .6], [0, 0, .75], [.18, 0, .48], [.2, 0, .2],
                   [.22, 0, -.05], [-.18, 0, .48], [-.2, 0, .2], [-.22, 0, -.05]])


def cameras() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Four cameras 4 m from the origin, 1.5 m up, at right angles, looking at (0, 0, 1): K (4, 3, 3), R, t."""
    K = np.array([[1000.0, 0, SIZE / 2], [0, 1000.0, SIZE / 2], [0, 0, 1]])
    Rs, ts = [], []
    for angle in np.radians([0, 90, 180, 270]):
        centre = np.array([4 * np.cos(angle), 4 * np.sin(angle), 1.5])
        forward = np.array([0, 0, 1.0]) - centre
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0, 0, 1.0])
        right /= np.linalg.norm(right)
        R = np.stack([right, np.cross(forward, right), forward])  # optical: x right, y down, z forward
        Rs.append(R)
        ts.append(-R @ centre)
    return np.stack([K] * 4), np.stack(Rs), np.stack(ts)


def people_m(frames: int = FRAMES) -> np.ndarray:
    """(2, frames, 17, 3): A walks across the middle at 1.5 m/s, B stands 1.8 m away waving both arms."""
    time_s = np.arange(frames) / FPS
    a = BODY_M + np.stack([-0.5 + 1.2 * time_s, -0.3 + 0.9 * time_s, np.full(frames, 1.0)], -1)[:, None]
    b = np.repeat((BODY_M + [1.2, 1.4, 1.0])[None], frames, axis=0)
    b[:, [13, 16], 2] += 0.4 * np.sin(2 * np.pi * 2 * time_s)[:, None]  # wrists up and down twice a second
    return np.stack([a, b])


def detections(truth_m: np.ndarray, delay: tuple[int, ...] = (0, 0, 0, 0), seed: int = 0) -> Detections:
    """Each view's detections of ``truth_m`` (P, F, 17, 3), in random order per frame. Track ids are 1 for A and 2
    for B, except view 1, whose tracker swaps them from frame 20 on; view 3 never sees B. View v's frame f
    shows the people at time f - delay[v] (nobody where that is outside the recording)."""
    K, R, t = cameras()
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(4):
        for f in range(FRAMES):
            now = f - delay[v]
            people = [p for p in range(len(truth_m)) if 0 <= now < FRAMES and not (v == 3 and p == 1)]
            for p in rng.permutation(people):
                px = project(truth_m[p, now], K[v:v + 1], R[v:v + 1], t[v:v + 1])[0]
                track = (2 - p) if v == 1 and f >= 20 else p + 1
                rows.append((v, f, track, px, np.ones(17), 1.0, np.concatenate([px.min(0), px.max(0)])))
    return Detections(*(np.array(column) for column in zip(*rows)))


def reference_of(det: Detections) -> MultiPersonReference:
    K, R, t = cameras()
    offsets, people, member = build_multiperson_reference(det, K, R, t, FRAMES)
    return MultiPersonReference(("v0", "v1", "v2", "v3"), K, R, t, np.full((4, 2), SIZE), FPS, offsets, det, people,
                                member, 0.0, "synthetic")


def test_one_frame_is_associated_whatever_the_order_and_a_missing_person():
    K, R, t = cameras()
    det = detections(people_m())
    idx = np.flatnonzero(det.frame == 0)
    groups = associate(det.keypoints_px[idx], det.confidence[idx], det.view[idx],
                       det.bbox_px[idx, 3] - det.bbox_px[idx, 1], K, R, t)
    tracks = {tuple(np.where(g >= 0, det.track_id[idx[g]], -1)) for g in groups}
    assert tracks == {(1, 1, 1, 1), (2, 2, 2, -1)}  # B: one person in three views, not split or joined to A


def test_identities_follow_their_pelvis_across_gaps_and_order():
    a, b = np.array([0.0, 0, 1]), np.array([2.0, 0, 1])
    step = np.array([0.02, 0, 0])
    centres = [np.stack([a, b]), np.stack([b, a + step]), np.zeros((0, 3)), np.stack([a + 3 * step]),
               np.stack([np.full(3, np.nan), b + step, a + 4 * step]), np.stack([[9.0, 9, 1]])]
    ids = link_identities(centres)
    assert [i.tolist() for i in ids] == [[0, 1], [1, 0], [], [0], [-1, 1, 0], [2]]


def test_reference_is_the_truth_with_each_views_tracks_and_scores():
    truth = people_m()
    det = detections(truth)
    reference = reference_of(det)
    assert reference.frame_offset.tolist() == [0, 0, 0, 0]
    np.testing.assert_allclose(reference.reference_world_m, truth, atol=1e-6)  # A nearest the middle first
    tracks = np.where(reference.member >= 0, det.track_id[reference.member], -1)  # (P, F, V)
    assert (tracks[0, :, [0, 2, 3]] == 1).all() and (tracks[1, :, [0, 2]] == 2).all()
    assert (tracks[:, :20, 1] == [[1], [2]]).all() and (tracks[:, 20:, 1] == [[2], [1]]).all()
    assert (tracks[1, :, 3] == -1).all()

    scores = score_views(reference)
    assert {view: {p: (s["detection_rate"], s["id_switches"], s["duplicates"]) for p, s in people.items()}
            for view, people in scores.items()} == {
        "v0": {"A": (1.0, 0, 0), "B": (1.0, 0, 0)}, "v1": {"A": (1.0, 1, 0), "B": (1.0, 1, 0)},
        "v2": {"A": (1.0, 0, 0), "B": (1.0, 0, 0)}, "v3": {"A": (1.0, 0, 0), "B": (0.0, 0, 0)}}
    assert scores["v3"]["B"]["frames_in_view"] == FRAMES


def test_a_second_detection_of_one_person_is_a_duplicate():
    det = detections(people_m())
    a = np.flatnonzero((det.view == 0) & (det.frame == 5) & (det.track_id == 1))[0]
    copy = {f.name: np.concatenate([getattr(det, f.name), getattr(det, f.name)[[a]]]) for f in fields(Detections)}
    copy["keypoints_px"][-1] += 5.0
    copy["track_id"][-1] = 9
    scores = score_views(reference_of(Detections(**copy)))
    assert scores["v0"]["A"]["duplicates"] == 1 and scores["v0"]["A"]["id_switches"] == 0
    assert scores["v0"]["B"]["duplicates"] == 0


def test_late_view_is_synchronised():
    truth = people_m()
    det = detections(truth, delay=(0, 0, 3, -2))
    reference = reference_of(det)
    assert reference.frame_offset.tolist() == [0, 0, 3, -2]
    np.testing.assert_allclose(reference.reference_world_m[:, 2:FRAMES - 3], truth[:, 2:FRAMES - 3], atol=1e-6)
    kp = np.full((4, FRAMES, 17, 2), np.nan)
    conf = np.zeros((4, FRAMES, 17))
    for i in np.flatnonzero(det.track_id == 1):  # a single person: A, as views 0, 2 and 3 track it
        if det.view[i] != 1:
            kp[det.view[i], det.frame[i]], conf[det.view[i], det.frame[i]] = det.keypoints_px[i], 1.0
    assert frame_offsets(kp[[0, 2, 3]], conf[[0, 2, 3]], *(x[[0, 2, 3]] for x in cameras())).tolist() == [0, 3, -2]


def test_demo_multiperson(tmp_path):
    """The real recording end to end (~15-40 s on 2 cores): detection, reference, scores, lifting, cache. Loose
    bounds: the numbers are the detector's, which changes; these hold whatever it finds."""
    pytest.importorskip("Pose2Sim")
    table, summary = evaluate_multiperson(tmp_path)
    assert "evaluation only" in table and summary["identities"] == 2 and min(summary["frames_seen"]) >= 90
    assert all(abs(o) <= 2 for o in summary["frame_offset"])  # the wrists' rise and fall agree within a frame
    for person in ("A", "B"):
        rows = [view[person] for view in summary["views"].values()]
        assert all(r["id_switches"] <= 1 and r["frames_in_view"] >= 90 for r in rows)
        found = [r for r in rows if r["detection_rate"] >= 0.5]
        assert len(found) >= 2 and all(r["reprojection_px"] < 30 and r["p2_mm"] < 300 for r in found)
    start = time.perf_counter()
    assert evaluate_multiperson(tmp_path)[0].splitlines()[:-1] == table.splitlines()[:-1]  # all but the time
    assert time.perf_counter() - start < 10  # from the cache
