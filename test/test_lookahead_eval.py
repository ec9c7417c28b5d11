"""lookahead_errors: prediction beats holding for steady motion and equals it for a still person."""

import numpy as np

from pose3d_ros.eval.lookahead import lookahead_errors

FPS = 30.0


def _walk(frames: int, speed_mps: float) -> np.ndarray:
    pose = np.random.default_rng(0).normal(scale=0.3, size=(17, 3))
    t = np.arange(frames)[:, None, None] / FPS
    return pose + t * np.array([speed_mps, 0.0, 0.0])


def test_steady_walk_is_predicted_and_holding_lags_by_speed_times_lookahead():
    ref = _walk(60, 1.2)
    held, predicted = lookahead_errors(ref, ref, FPS, lookahead_s=0.1)
    assert np.allclose(held[:-3], 120.0)  # 1.2 m/s x 0.1 s
    assert np.nanmax(predicted[1:-3]) < 1e-3  # mm: stamps are whole nanoseconds
    assert np.isnan(held[-3:]).all()


def test_still_person_and_missing_frames():
    ref = _walk(30, 0.0)
    lifted = ref.copy()
    lifted[10] = np.nan
    held, predicted = lookahead_errors(lifted, ref, FPS, lookahead_s=0.1)
    assert np.isnan(held[10]) and np.isnan(predicted[10])
    assert np.nanmax(held) < 1e-9 and np.nanmax(predicted) < 1e-9
