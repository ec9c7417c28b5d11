"""Multi-person tracking scores on synthetic tracks with known answers, and the demo video's reference itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pose3d_ros.eval.multiperson import Reference, load_reference, score_tracks
from pose3d_ros.image import letterbox

DEMO_CSV = Path(__file__).parent / "data" / "sports2d_demo_people.csv"
DEMO_W_PX, DEMO_H_PX = 1768, 994
FRAMES = 10


@pytest.fixture
def crossing() -> Reference:
    """Two people 200 px tall walking towards each other along x, 300 px apart in y so boxes never touch."""
    x_a, x_b = np.linspace(100, 900, FRAMES), np.linspace(900, 100, FRAMES)
    boxes = [[[xa, 100, xa + 80, 300], [xb, 400, xb + 80, 600]] for xa, xb in zip(x_a, x_b)]
    visible = np.ones((FRAMES, 2), dtype=bool)
    return Reference(np.arange(FRAMES), ("a", "b"), visible, np.array(boxes, float), np.zeros_like(visible))


def perfect(reference: Reference, ids=(1, 2)) -> list[list]:
    """The reference's own visible boxes, one fixed track id per person."""
    return [[(ids[p], reference.bbox_px[f, p]) for p in range(len(ids)) if reference.visible[f, p]]
            for f in range(reference.frames.size)]


def test_perfect_tracks_find_everyone_once(crossing):
    score = score_tracks(crossing, perfect(crossing))
    overall = score.overall()
    assert (overall.visible, overall.found, overall.id_switches, overall.fragmentations) == (20, 20, 0, 0)
    assert (overall.duplicates, score.false_positives, score.frames_exact_count) == (0, 0, FRAMES)
    assert [p.track_ids for p in score.people.values()] == [[1], [2]]
    assert overall.shares()["share_found"] == 1.0


def test_ids_swapped_at_the_crossing_are_two_switches(crossing):
    tracks = perfect(crossing)
    tracks[5:] = [[(2, a), (1, b)] for (_, a), (_, b) in tracks[5:]]
    score = score_tracks(crossing, tracks)
    assert score.overall().id_switches == 2
    assert score.overall().fragmentations == 0
    assert score.people["a"].track_ids == [1, 2]


def test_a_dropout_then_resume_is_a_fragmentation_not_a_switch(crossing):
    tracks = perfect(crossing)
    for f in (3, 4):
        tracks[f] = [t for t in tracks[f] if t[0] != 1]
    score = score_tracks(crossing, tracks)
    a = score.people["a"]
    assert (a.found, a.fragmentations, a.id_switches) == (FRAMES - 2, 1, 0)
    assert score.frames_exact_count == FRAMES - 2


def test_a_second_box_on_one_person_is_a_duplicate_and_steals_nothing(crossing):
    tracks = perfect(crossing)
    tracks[2][0] = (1, crossing.bbox_px[2, 0] + [8, 8, 8, 8])  # the person's own track, a little off
    tracks[2].append((9, crossing.bbox_px[2, 0]))  # a better fit, but a newcomer: CLEAR-MOT keeps track 1
    score = score_tracks(crossing, tracks)
    assert (score.people["a"].duplicates, score.false_positives) == (1, 0)
    assert score.overall().id_switches == 0
    assert score.people["a"].track_ids == [1]


def test_a_box_on_nobody_is_a_false_positive(crossing):
    tracks = perfect(crossing)
    tracks[7].append((5, np.array([1500.0, 50, 1600, 250])))
    score = score_tracks(crossing, tracks)
    assert (score.false_positives, score.overall().duplicates, score.overall().found) == (1, 0, 20)


def test_a_loose_box_matches_by_its_centre(crossing):
    # Twice as wide and tall as the reference (IoU 0.25 < 0.3), centred on it: a whole-body box around a
    # half-hidden person.
    tracks = perfect(crossing)
    x0, y0, x1, y1 = crossing.bbox_px[0, 0]
    w, h = x1 - x0, y1 - y0
    tracks[0][0] = (1, np.array([x0 - w / 2, y0 - h / 2, x1 + w / 2, y1 + h / 2]))
    assert score_tracks(crossing, tracks).people["a"].found == FRAMES


def test_occluded_frames_are_scored_apart(crossing):
    occluded = np.zeros_like(crossing.visible)
    occluded[:4, 1] = True
    reference = Reference(crossing.frames, crossing.labels, crossing.visible, crossing.bbox_px, occluded)
    tracks = [[t for t in frame if not (f < 4 and t[0] == 2)] for f, frame in enumerate(perfect(reference))]
    shares = score_tracks(reference, tracks).overall().shares()
    assert (shares["share_found_clear"], shares["share_found_occluded"]) == (1.0, 0.0)


def test_letterboxed_predictions_map_back_to_the_original_pixels(crossing):
    boxed = letterbox(np.zeros((DEMO_H_PX, DEMO_W_PX, 3), np.uint8), 640, 480)
    scale, offset = boxed.scale, np.tile(boxed.offset_px, 2)  # image_px = source_px * scale + offset_px
    assert boxed.offset_px == (0, 60)  # the demo's 16:9 frames get black bars above and below
    tracks = [[(i, box * scale + offset) for i, box in frame] for frame in perfect(crossing)]
    mapped = score_tracks(crossing, tracks, scale=(boxed.scale, boxed.scale), offset=boxed.offset_px)
    assert mapped.overall().found == 20
    assert score_tracks(crossing, tracks).overall().found < 20


def test_score_reports_a_table_and_json(crossing):
    score = score_tracks(crossing, perfect(crossing))
    assert "| all | 20 | 20 | 100.0 |" in score.table()
    as_json = json.loads(json.dumps(score.as_dict()))
    assert as_json["share_found_occluded"] is None  # nobody occluded: a share of nothing
    assert as_json["people"]["b"]["track_ids"] == [2]


def test_wrong_frame_count_says_both_counts(crossing):
    with pytest.raises(ValueError, match="9 frames of predictions; the reference has 10"):
        score_tracks(crossing, perfect(crossing)[:9])


def test_demo_reference_is_sane():
    reference = load_reference(DEMO_CSV)
    assert reference.frames.size == 230
    assert len(reference.labels) == 2
    boxes = reference.bbox_px[reference.visible]
    assert np.isfinite(boxes).all() and np.isnan(reference.bbox_px[~reference.visible]).all()
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= DEMO_W_PX).all() and (boxes[:, 3] <= DEMO_H_PX).all()
    assert (boxes[:, 2:] - boxes[:, :2] >= 40).all()  # a person is never a sliver
    assert not (reference.occluded & ~reference.visible).any()
    both = reference.visible.all(axis=1)
    assert both.mean() > 0.5
    for p in range(2):  # each person is visible in one unbroken run: they enter once and leave once
        assert np.diff(reference.visible[:, p].astype(int)).clip(0).sum() <= 1
    score = score_tracks(reference, perfect(reference))
    assert score.overall().shares()["share_found"] == 1.0 and score.overall().id_switches == 0
