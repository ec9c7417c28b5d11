"""SideSwapGuard: a detector's left/right swap is undone; real motion and turning are left alone."""

import numpy as np

from pose3d_ros.layouts import H36M17
from pose3d_ros.sides import SideSwapGuard

PERM = H36M17.flip_permutation()


def _person(x: float) -> np.ndarray:
    """A person facing the camera: their left side on the image's right, hips 60 px apart."""
    rng = np.random.default_rng(1)
    kp = rng.normal(scale=5.0, size=(17, 2)) + [x, 240.0]
    for name, i in H36M17.index.items():
        kp[i, 0] += 40.0 if name.startswith("left_") else -40.0 if name.startswith("right_") else 0.0
    return kp


def test_a_swapped_frame_is_relabelled_and_the_track_stays_consistent():
    guard = SideSwapGuard(H36M17)
    conf = np.linspace(0.5, 1.0, 17)
    guard.apply(1, _person(300), conf)
    for step in range(1, 5):  # the detector swaps sides for four frames while the person walks on
        kp, c = guard.apply(1, _person(300 + 2 * step)[PERM], conf[PERM])
        np.testing.assert_allclose(kp, _person(300 + 2 * step))
        np.testing.assert_allclose(c, conf)
    assert guard.swaps == 4


def test_motion_is_not_mistaken_for_a_swap_and_tracks_are_separate_and_bounded():
    guard = SideSwapGuard(H36M17, max_tracks=2)
    conf = np.ones(17)
    for step in range(10):
        kp, _ = guard.apply(1, _person(300 + 8 * step), conf)
        np.testing.assert_allclose(kp, _person(300 + 8 * step))
    guard.apply(2, _person(100)[PERM], conf)  # a new track: nothing to compare with
    guard.apply(3, _person(500), conf)
    assert guard.swaps == 0 and len(guard) == 2


def test_legs_swapped_alone_are_relabelled_alone():
    guard = SideSwapGuard(H36M17)
    conf = np.ones(17)
    guard.apply(1, _person(300), conf)
    legs_swapped = _person(302)
    for side in ("hip", "knee", "ankle"):
        left, right = H36M17.index[f"left_{side}"], H36M17.index[f"right_{side}"]
        legs_swapped[[left, right]] = legs_swapped[[right, left]]
    kp, _ = guard.apply(1, legs_swapped, conf)
    np.testing.assert_allclose(kp, _person(302))
    assert guard.swaps == 1
