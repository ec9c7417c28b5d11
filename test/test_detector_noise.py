"""Detector noise statistics (eval.detector_noise) recover known noise: AR(1) drift + white jitter, an injected
left/right swap, a low-confidence run of a whole limb, outliers, and frames without a reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from pose3d_ros.eval.detector_noise import (
    SWAP_PAIRS,
    autocorrelation,
    bridge,
    centred_mean,
    fit_drift,
    noise_stats,
    run_lengths,
)
from pose3d_ros.layouts import H36M17

FPS = 60.0
PHI_60 = 0.95  # drift AR(1) per 60 fps frame, so 0.9025 per 30 fps frame
DRIFT, JITTER = 0.015, 0.005  # per coordinate, shares of the 2D height

# A standing person, x right and y down, in shares of the height (y from head 0.0 to ankles 0.95).
_POSE = {
    "pelvis": (0.0, 0.45), "right_hip": (-0.08, 0.45), "right_knee": (-0.09, 0.7), "right_ankle": (-0.1, 0.95),
    "left_hip": (0.08, 0.45), "left_knee": (0.09, 0.7), "left_ankle": (0.1, 0.95), "spine": (0.0, 0.3),
    "thorax": (0.0, 0.15), "neck_nose": (0.0, 0.08), "head": (0.0, 0.0), "left_shoulder": (0.15, 0.15),
    "left_elbow": (0.25, 0.3), "left_wrist": (0.3, 0.45), "right_shoulder": (-0.15, 0.15),
    "right_elbow": (-0.25, 0.3), "right_wrist": (-0.3, 0.45),
}
TEMPLATE = np.array([_POSE[name] for name in H36M17.names])


def ar1_plus_white(rng: np.random.Generator, shape: tuple[int, ...], phi: float, drift: float,
                   jitter: float) -> np.ndarray:
    """(F, ...) stationary AR(1) of std ``drift`` and coefficient ``phi`` per frame, plus white noise of std
    ``jitter``, along axis 0."""
    x = np.empty(shape)
    x[0] = drift * rng.standard_normal(shape[1:])
    innovation = drift * np.sqrt(1.0 - phi ** 2) * rng.standard_normal(shape)
    for f in range(1, shape[0]):
        x[f] = phi * x[f - 1] + innovation[f]
    return x + jitter * rng.standard_normal(shape)


def test_fit_drift_recovers_ar1_coefficient_and_both_stds():
    x = ar1_plus_white(np.random.default_rng(0), (4000, 40), PHI_60, DRIFT, JITTER)
    phi_30, drift, jitter = fit_drift(x, step=2)
    assert phi_30 == pytest.approx(PHI_60 ** 2, abs=0.02)
    assert drift == pytest.approx(DRIFT, rel=0.1)
    assert jitter == pytest.approx(JITTER, rel=0.15)
    expected = DRIFT ** 2 * PHI_60 / (DRIFT ** 2 + JITTER ** 2)
    assert autocorrelation(x, 1) == pytest.approx(expected, abs=0.02)
    assert abs(autocorrelation(np.random.default_rng(1).standard_normal((2000, 10)), 1)) < 0.03


def test_centred_mean_skips_nan_and_cuts_the_window_at_the_ends():
    x = np.arange(10.0)
    np.testing.assert_allclose(centred_mean(x, 3), [0.5, 1, 2, 3, 4, 5, 6, 7, 8, 8.5])
    x[4] = np.nan
    assert centred_mean(x, 3)[4] == pytest.approx(4.0)
    x[3:6] = np.nan
    assert np.isnan(centred_mean(x, 3)[4])


def test_run_lengths_per_column_and_bridged_over_unknown_frames():
    flags = np.array([[1, 0], [1, 1], [0, 1], [1, 1]], bool)
    assert sorted(run_lengths(flags)) == [1, 2, 3]
    known = np.array([1, 1, 0, 1], bool)[:, None]
    assert sorted(run_lengths(bridge(flags, known))) == [3, 4]  # column 0's unknown frame lies inside a run
    assert not bridge(np.array([True, False, False]), np.array([True, False, True]))[1]


def test_noise_stats_recover_injected_noise_swap_dropout_and_outliers():
    rng = np.random.default_rng(2)
    views, frames, height_px = 2, 400, 500.0
    sway = 0.05 * np.sin(np.arange(frames) / 30.0)  # the person moves; the noise does not follow
    reference = (TEMPLATE[None, None] + np.stack([sway, 0 * sway], -1)[None, :, None]) * height_px
    reference = np.broadcast_to(reference, (views, frames, 17, 2)).copy() + [[[[400.0, 300.0]]]]
    noise = ar1_plus_white(rng, (frames, views, 17, 2), PHI_60, DRIFT, JITTER).swapaxes(0, 1)
    keypoints = reference + noise * height_px * 0.95  # the height is the y extent: 0.95 of the template's scale
    confidence = np.full((views, frames, 17), 0.95)

    flip = H36M17.flip_permutation()
    keypoints[0, 100:120] = keypoints[0, 100:120][:, flip]  # a whole-body swap: 20 frames, 10 at 30 fps
    limb = [H36M17.index["left_elbow"], H36M17.index["left_wrist"]]
    confidence[1, 200:212, limb] = 0.2  # a whole forearm drops out: 12 frames, 6 at 30 fps
    head = H36M17.index["head"]
    keypoints[1, [30, 60, 90, 330, 360], head, 0] += 0.3 * 0.95 * height_px
    reference[1, 300:310] = np.nan  # no reference: left out
    reference[0, 250, head] = np.nan  # one joint without a reference: that frame's height falls back on the detection

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = noise_stats(keypoints, confidence, reference, FPS)

    assert stats.frames == views * frames - 10
    assert stats.height_px == pytest.approx(0.95 * height_px, rel=0.02)
    total = np.hypot(DRIFT, JITTER)
    assert stats.inlier_std == pytest.approx(total, rel=0.15)
    assert stats.std["all"] > 2 * total  # the swap's errors count there
    assert stats.drift_ar1 == pytest.approx(PHI_60 ** 2, abs=0.05)
    assert stats.drift_ar1_full ** 2 == pytest.approx(stats.drift_ar1, abs=0.05)
    assert stats.drift_std == pytest.approx(DRIFT, rel=0.2)
    assert stats.jitter_std == pytest.approx(JITTER, rel=0.3)
    assert stats.slow_std > stats.fast_std

    assert stats.swap_rate == pytest.approx(20 / (views * frames - 10))
    assert list(stats.swap_rate_pair.values()) == pytest.approx([20 / (views * frames - 10)] * len(SWAP_PAIRS))
    assert stats.swap_whole_body == 1.0 and stats.swap_one_sided == 0.0
    assert (stats.swap_run_30, stats.swap_run_30_max) == (10.0, 10)
    assert stats.swap_start_30 == pytest.approx(2 / (views * frames))  # one run in each of the two phases

    assert stats.low_rate[0.5] == pytest.approx(24 / (views * frames * 17))
    assert stats.low_rate[0.001] == 0.0
    assert (stats.low_run_30, stats.low_run_30_max, stats.low_whole_limb) == (6.0, 6, 1.0)
    assert {name for name, _ in stats.low_joints} == {"left_elbow", "left_wrist"}

    joint_frames = (views * frames - 10) * 17 - 1
    assert stats.outlier_rate_unswapped == pytest.approx(5 / joint_frames)
    assert stats.outlier_rate > stats.outlier_rate_unswapped
    assert stats.outlier_error_median > 0.1


def test_a_view_without_any_reference_gives_nan_not_an_error():
    keypoints = np.broadcast_to(TEMPLATE * 500.0, (1, 50, 17, 2)).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = noise_stats(keypoints, np.ones((1, 50, 17)), np.full_like(keypoints, np.nan), FPS)
    assert stats.frames == 0 and np.isnan(stats.inlier_std) and stats.swap_rate == 0.0
