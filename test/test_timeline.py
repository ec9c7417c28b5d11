"""Time that jumps back starts over; a frame slightly out of order is skipped (timeline.py), in KeypointStage too;
a jump forward closes the tracks of the old time."""

import numpy as np
import pytest

from pose3d_ros.detect import Detection
from pose3d_ros.layouts import H36M17
from pose3d_ros.pipeline import KeypointStage
from pose3d_ros.timeline import Stamp, Timeline

S = 1_000_000_000


def test_timeline_places_stamps_as_tf2_would():
    timeline = Timeline(jump_back_s=1.0)
    assert timeline.place(10 * S)[0] is Stamp.IN_ORDER
    assert timeline.place(10 * S + 798)[0] is Stamp.IN_ORDER  # any step forward, however small
    placed, message = timeline.place(10 * S - 5_000_000)
    assert placed is Stamp.OUT_OF_ORDER and "5.0 ms before the newest" in message
    assert timeline.place(10 * S + 798)[0] is Stamp.OUT_OF_ORDER  # the same stamp again
    placed, message = timeline.place(3 * S)
    assert placed is Stamp.JUMPED_BACK and "time jumped back 7.000 s" in message
    assert timeline.place(3 * S + 33_000_000)[0] is Stamp.IN_ORDER  # going on from the new time
    assert timeline.place(3600 * S)[0] is Stamp.IN_ORDER  # forward: no rule
    assert timeline.place(3 * S)[0] is Stamp.JUMPED_BACK  # one frame an hour ahead blocks nothing
    with pytest.raises(ValueError, match="jump_back_s 0"):
        Timeline(0)


class StandIn:
    """A detector that finds one person and counts its resets."""

    layout = H36M17

    def __init__(self):
        self.resets = 0

    def detect(self, rgb, stamp_ns):
        keypoints_px = np.full((17, 2), 100.0, np.float32) + np.arange(17)[:, None]
        bbox_px = np.array([100, 100, 116, 116], np.float32)
        return [Detection(keypoints_px, np.ones(17, np.float32), H36M17, 1.0, bbox_px)]

    def reset(self):
        self.resets += 1

    def close(self):
        pass


def test_keypoint_stage_resets_its_state_when_time_jumps_back_and_skips_late_frames():
    detector = StandIn()
    stage = KeypointStage(detector)
    rgb = np.zeros((48, 64, 3), np.uint8)
    first, issues = stage.process(rgb, 10 * S)
    assert [p.track_id for p in first] == [1] and issues == []
    late, issues = stage.process(rgb, 10 * S - 1)
    assert late == [] and [i.kind for i in issues] == ["stamp_out_of_order"]
    again, issues = stage.process(rgb, 2 * S)  # a bag looped
    assert [i.kind for i in issues] == ["time_jump_back"] and detector.resets == 1
    assert [p.track_id for p in again] == [2]  # a new track: ids are never reused
    assert stage.tracker.num_tracks == 1


def test_keypoint_stage_closes_old_tracks_when_time_jumps_forward_by_minutes():
    stage = KeypointStage(StandIn())
    rgb = np.zeros((48, 64, 3), np.uint8)
    first, _ = stage.process(rgb, 10 * S)
    later, issues = stage.process(rgb, 310 * S)  # five minutes on: the person seen then is not followed now
    assert issues == [] and [p.track_id for p in first] == [1] and [p.track_id for p in later] == [2]
    assert stage.tracker.num_tracks == 1
