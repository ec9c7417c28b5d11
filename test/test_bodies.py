"""Tracked people as REP-155 bodies: ids that are never reused, a new body after a gap or a reset, a height fixed
after the first frames, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import STANDING_M
from pose3d_ros.bodies import ID_LETTERS, BodyRegistry, standing_height_m
from pose3d_ros.human_model import forward_kinematics

SECOND_NS = 1_000_000_000
# conftest's standing person (image axes: y down) in the body frame (x forward, y left, z up), pelvis at 0.
STANDING_BODY_M = np.stack([-STANDING_M[:, 2], STANDING_M[:, 0], -STANDING_M[:, 1]], axis=1)


def test_standing_height_is_legs_spine_and_head_plus_the_ankle():
    # legs 0.9, pelvis-spine-thorax 0.5, thorax to the top of the head 0.25: 1.65 m above the ankle
    assert standing_height_m(STANDING_BODY_M) == pytest.approx(1.65 / (1 - 0.045), abs=1e-3)


def test_each_track_is_one_body_with_a_short_id_until_it_is_gone_too_long():
    registry = BodyRegistry(max_gap_s=0.5, seed=3)
    first = registry.update(0, [(1, STANDING_BODY_M), (2, STANDING_BODY_M)])
    ids = [p.body.body_id for p in first]
    assert len(set(ids)) == 2 and all(len(i) == ID_LETTERS and i.isalpha() and i.islower() for i in ids)
    again = registry.update(SECOND_NS // 4, [(1, STANDING_BODY_M)])
    assert again[0].body.body_id == ids[0]
    assert [b.body_id for b in registry.gone(SECOND_NS * 7 // 10)] == [ids[1]]  # track 2 unseen for 0.7 s
    back = registry.update(SECOND_NS, [(1, STANDING_BODY_M), (2, STANDING_BODY_M)])
    assert back[0].body.body_id != ids[0] and back[1].body.body_id not in ids, "a body came back under an old id"


def test_a_reset_forgets_every_body_and_new_ones_get_new_ids():
    registry = BodyRegistry(seed=5)
    before = {p.body.body_id for p in registry.update(10 * SECOND_NS, [(1, STANDING_BODY_M), (2, STANDING_BODY_M)])}
    assert {b.body_id for b in registry.reset()} == before
    after = {p.body.body_id for p in registry.update(0, [(1, STANDING_BODY_M), (2, STANDING_BODY_M)])}
    assert not before & after


def test_ids_are_never_reused_even_when_draws_collide():
    registry = BodyRegistry(max_gap_s=0.0, seed=0)
    registry._rng.choices = lambda letters, k: list("aaaab" if len(registry._issued) % 2 else "aaaaa")
    first = registry.update(0, [(1, STANDING_BODY_M)])[0].body.body_id
    second = registry.update(SECOND_NS, [(1, STANDING_BODY_M)])[0].body.body_id
    assert (first, second) == ("aaaaa", "aaaab")


def test_the_model_height_is_the_median_of_the_first_frames_then_fixed():
    registry = BodyRegistry(height_frames=3, seed=2)
    heights = []
    for n, scale in enumerate((1.0, 1.2, 0.9, 2.0, 2.0)):
        (pose,) = registry.update(n * SECOND_NS // 30, [(7, STANDING_BODY_M * scale)])
        heights.append(pose.body.model.height_m)
    h = standing_height_m(STANDING_BODY_M)
    np.testing.assert_allclose(heights, [h, 1.1 * h, h, h, h], rtol=1e-9)
    assert pose.body.model_fixed


def test_pose_links_are_the_forward_kinematics_of_the_angles():
    (pose,) = BodyRegistry(seed=1).update(0, [(4, STANDING_BODY_M)])
    assert pose.angles.shape == (len(pose.body.model.joint_names),)
    expected = forward_kinematics(pose.body.model, pose.angles)
    for link, matrix in expected.items():
        np.testing.assert_array_equal(pose.links[link], matrix)
    wrist, shoulder = pose.links["l_wrist"][:3, 3], pose.links["l_shoulder"][:3, 3]
    assert wrist[1] > 0 and wrist[2] < shoulder[2] - 0.4, "the left arm hangs on the left"


def test_the_longest_unseen_bodies_make_room():
    registry = BodyRegistry(max_bodies=3, seed=4)
    for track in range(5):
        registry.update(track, [(track, STANDING_BODY_M)])
    assert sorted(registry._by_track) == [2, 3, 4]
