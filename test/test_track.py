"""Tracker: ids stay with people as they move and swap list order, expire after max_age_s, are never reused."""

import numpy as np
import pytest

from pose3d_ros.detect import Detection
from pose3d_ros.layouts import H36M17
from pose3d_ros.track import Tracker

FRAME_NS = 33_333_333
RNG = np.random.default_rng(0)
# A standing person's keypoints in a unit box (x right, y down), pelvis at the origin.
_SHAPE = RNG.uniform([-0.3, -0.9], [0.3, 1.0], size=(H36M17.num_joints, 2))
_SHAPE[H36M17.index["pelvis"]] = 0.0


def _person(x_px: float, y_px: float, height_px: float = 200.0, confidence: float = 0.9) -> Detection:
    keypoints_px = (np.array([x_px, y_px]) + _SHAPE * height_px / 2).astype(np.float32)
    bbox_px = np.concatenate([keypoints_px.min(0), keypoints_px.max(0)]).astype(np.float32)
    conf = np.full(H36M17.num_joints, confidence, np.float32)
    return Detection(keypoints_px, conf, H36M17, 0.9, bbox_px)


def test_moving_person_keeps_one_id():
    tracker = Tracker()
    ids = [tracker.update([_person(100 + 6 * i, 240 + 2 * i)], i * FRAME_NS) for i in range(60)]
    assert ids == [[1]] * 60
    assert tracker.num_tracks == 1


def test_two_people_keep_their_ids_when_list_order_swaps():
    tracker = Tracker()
    first = tracker.update([_person(150, 240), _person(450, 240)], 0)
    assert first == [1, 2]
    for i in range(1, 30):
        a, b = _person(150 + 3 * i, 240), _person(450 - 3 * i, 240)
        if i % 2:
            assert tracker.update([b, a], i * FRAME_NS) == [2, 1]
        else:
            assert tracker.update([a, b], i * FRAME_NS) == [1, 2]


def test_short_absence_keeps_the_id():
    tracker = Tracker(max_age_s=1.0)
    assert tracker.update([_person(200, 240)], 0) == [1]
    assert tracker.update([], 500_000_000) == []
    assert tracker.update([_person(205, 240)], 900_000_000) == [1]


def test_long_absence_gives_a_new_id_and_ids_are_never_reused():
    tracker = Tracker(max_age_s=1.0)
    assert tracker.update([_person(200, 240)], 0) == [1]
    assert tracker.update([_person(500, 240)], 1_500_000_000) == [2]  # a newcomer while person 1 is gone
    assert tracker.num_tracks == 1
    assert tracker.update([_person(500, 240), _person(200, 240)], 1_600_000_000) == [2, 3]
    assert tracker.update([], 5_000_000_000) == []
    assert tracker.num_tracks == 0
    assert tracker.update([_person(200, 240)], 5_100_000_000) == [4]


def test_max_tracks_evicts_the_longest_unseen():
    tracker = Tracker(max_tracks=2)
    assert tracker.update([_person(100, 240)], 0) == [1]
    assert tracker.update([_person(300, 240)], FRAME_NS) == [2]
    assert tracker.update([_person(500, 240)], 2 * FRAME_NS) == [3]  # evicts 1, unseen longest
    assert tracker.num_tracks == 2
    assert tracker.update([_person(300, 240)], 3 * FRAME_NS) == [2]
    assert tracker.update([_person(100, 240)], 4 * FRAME_NS) == [4]  # 1 is gone; evicts 3
    assert tracker.num_tracks == 2
    assert tracker.update([_person(300, 240)], 5 * FRAME_NS) == [2]


def test_more_people_than_max_tracks_in_one_frame_stay_bounded():
    tracker = Tracker(max_tracks=2)
    ids = tracker.update([_person(100 + 150 * k, 240) for k in range(4)], 0)
    assert ids == [1, 2, 3, 4]
    assert tracker.num_tracks == 2


def test_a_newcomer_does_not_take_a_close_match_away():
    tracker = Tracker()
    assert tracker.update([_person(200, 240), _person(320, 240)], 0) == [1, 2]
    # Person 2 is occluded; person 1 moved 5 px and a newcomer entered on the left.
    assert tracker.update([_person(205, 240), _person(50, 240)], FRAME_NS) == [1, 3]


def test_empty_detections():
    tracker = Tracker()
    assert tracker.update([], 0) == []
    assert tracker.num_tracks == 0
    assert tracker.update([_person(200, 240)], FRAME_NS) == [1]
    assert tracker.update([], 2 * FRAME_NS) == []
    assert tracker.num_tracks == 1


def test_all_zero_confidence_detection_opens_a_track_and_steals_no_id():
    tracker = Tracker()
    assert tracker.update([_person(200, 240, confidence=0.0)], 0) == [1]
    assert tracker.update([_person(200, 240)], FRAME_NS) == [2]
    ids = tracker.update([_person(200, 240, confidence=0.0), _person(202, 240)], 2 * FRAME_NS)
    assert ids[1] == 2 and ids[0] not in (0, 2)


def test_nan_keypoint_is_ignored_for_matching():
    tracker = Tracker()
    assert tracker.update([_person(200, 240)], 0) == [1]
    detection = _person(205, 240)
    detection.keypoints_px[3] = np.nan
    assert tracker.update([detection], FRAME_NS) == [1]


def test_rejects_max_tracks_below_one():
    with pytest.raises(ValueError, match="max_tracks is 0"):
        Tracker(max_tracks=0)
