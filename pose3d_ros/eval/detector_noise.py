"""How the real 2D detector errs, in the units of the training noise model (data/augment.py): MediaPipe
BlazePose's H36M-17 keypoints on Pose2Sim's Demo_SinglePerson against the 3D reference projected into each view.

Per view, the reference (eval/pose2sim.py) is projected through the view's pinhole K: the stored keypoints were
undistorted onto that same K, so no lens distortion enters. Every error is a share of the person's 2D height in
that frame (y extent of the 17 projected joints, as augment.detector_noise measures it; pixels at the views'
portrait ~1080x1920 resolution are given beside it). Measured: error std per joint group; its temporal structure
(slow: the centred mean over 0.25 s; fast: the rest; lag-1 autocorrelation; an AR(1) drift + white jitter fit at
30 fps); left/right swaps; low-confidence runs; outliers (> 0.1 x height). Joints and frames without a reference
(not triangulable, before a late view starts) are left out.

Caveats. The reference is triangulated from these same detections, so each view's error pulls the reference
toward itself and the residuals UNDERESTIMATE the detector's error; a leave-one-out reference (the other 3
views only) OVERESTIMATES it (their triangulation error adds). Both are printed, with the factors that iid
noise on this very rig would show (reference_bias), which bracket the truth. One person, 4 phone cameras,
100 frames (1.7 s) at 60 fps: a rough measurement for setting a noise model, not a population statistic.

    python -m pose3d_ros.eval.detector_noise [--cache runs/cache]     # prints markdown tables, < 5 s
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pose3d_ros.eval.triangulate import MIN_CONFIDENCE, project, shift_frames, triangulate, triangulate_robust
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.inputs import MIN_CONFIDENCE as LIFTER_MIN_CONFIDENCE

if TYPE_CHECKING:
    from pose3d_ros.eval.pose2sim import Pose2SimReference

# Hips and shoulders move with the torso and are detected like it; the limb groups are the distal joints.
GROUPS: dict[str, tuple[int, ...]] = {
    "torso/head": tuple(H36M17.index[n] for n in (
        "pelvis", "right_hip", "left_hip", "spine", "thorax", "neck_nose", "head", "left_shoulder",
        "right_shoulder")),
    "arms": tuple(H36M17.index[n] for n in ("left_elbow", "left_wrist", "right_elbow", "right_wrist")),
    "legs": tuple(H36M17.index[n] for n in ("left_knee", "left_ankle", "right_knee", "right_ankle")),
}
SWAP_PAIRS: dict[str, tuple[int, int]] = {
    name: (H36M17.index[f"left_{name}"], H36M17.index[f"right_{name}"])
    for name in ("shoulder", "hip", "elbow", "wrist", "knee", "ankle")}
# A whole-body swap (the detector taking a back view for a front view) flips a pair of each of these at once.
BODY_PARTS = (("shoulder", "hip"), ("elbow", "wrist"), ("knee", "ankle"))
DISTAL_LIMBS = tuple(tuple(H36M17.index[f"{side}_{joint}"] for joint in joints)
                     for side in ("left", "right") for joints in (("elbow", "wrist"), ("knee", "ankle")))
OUTLIER_PER_HEIGHT = 0.1  # the scale of augment.detector_noise's outliers
# A swap needs each joint closer to the other side's reference by this much: limbs crossing in 2D are no swap.
SWAP_MARGIN_PER_HEIGHT = 0.05
SLOW_WINDOW_S = 0.25
TRAINING_FPS = 30.0
# The lifter's "missing", the tracker's and side guard's default, and triangulation's threshold (the main one).
CONFIDENCE_THRESHOLDS = (LIFTER_MIN_CONFIDENCE, 0.3, MIN_CONFIDENCE)


@dataclass(frozen=True)
class NoiseStats:
    """Detector error statistics of one view, or pooled over views. Shares of the 2D height unless named _px.

    std / std_px: RMS error per image coordinate (what augment's noise_per_height means) per GROUPS key and
    "all"; robust_std: 1.4826 x MAD per coordinate; error_median/p95: Euclidean error per joint-frame;
    frame_error_median/p95: of the per-frame mean over joints. Temporal ones over inliers (no outlier, no swap):
    inlier_std, slow_std (centred mean over SLOW_WINDOW_S), fast_std (the rest), autocorr_60/30 (lag-1 at the
    recording's rate and every second frame), and the AR(1) drift + white jitter fit: drift_ar1 (per 30 fps frame),
    drift_std, jitter_std, drift_ar1_full (per recorded frame: its square should match drift_ar1).
    Swaps (SWAP_PAIRS, per evaluable frame): swap_rate (frames with any pair swapped), swap_rate_pair,
    swap_whole_body (share of swapped frames where a pair of each BODY_PARTS group swaps), swap_one_sided (frames
    where only one joint of a pair sits on the other side); runs of swapped frames at 30 fps (every second frame,
    both phases, not split by frames without a reference): swap_start_30 (runs per frame), swap_run_30 /
    swap_run_30_max (frames). Confidence: confidence_p5/p50, low_rate (per CONFIDENCE_THRESHOLDS), low_frames
    (frames with any joint < MIN_CONFIDENCE); runs of one joint below it at 30 fps: low_start_30 (runs per
    joint-frame), low_run_30 / low_run_30_max (frames); low_whole_limb (share of low distal joints whose limb
    partner is low too), low_joints (most often low, with rates), low_error / confident_error (median Euclidean
    error). Outliers: outlier_rate (error > OUTLIER_PER_HEIGHT),
    outlier_rate_unswapped, outlier_error_median, confidence of inliers/outliers (medians).
    """

    frames: int
    height_px: float
    std: dict[str, float]
    std_px: dict[str, float]
    robust_std: float
    error_median: float
    error_p95: float
    frame_error_median: float
    frame_error_p95: float
    inlier_std: float
    slow_std: float
    fast_std: float
    autocorr_60: float
    autocorr_30: float
    drift_ar1: float
    drift_std: float
    jitter_std: float
    drift_ar1_full: float
    swap_frames: int
    swap_rate: float
    swap_rate_pair: dict[str, float]
    swap_whole_body: float
    swap_one_sided: float
    swap_start_30: float
    swap_run_30: float
    swap_run_30_max: int
    confidence_p5: float
    confidence_p50: float
    low_rate: dict[float, float]
    low_frames: float
    low_start_30: float
    low_run_30: float
    low_run_30_max: int
    low_whole_limb: float
    low_joints: tuple[tuple[str, float], ...]
    low_error: float
    confident_error: float
    outlier_rate: float
    outlier_rate_unswapped: float
    outlier_error_median: float
    inlier_confidence: float
    outlier_confidence: float


def _quiet(function, *args, **kwargs):
    """A numpy nan-reduction without the warning for empty or all-NaN input, which gives NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


def project_px(points_cam_m: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(..., 3) optical-frame points -> (..., 2) pinhole pixels of K (3, 3); NaN stays NaN."""
    px = points_cam_m @ K.T
    return px[..., :2] / px[..., 2:3]


def person_height_px(keypoints_px: np.ndarray) -> np.ndarray:
    """(..., J, 2) -> (...) y extent over the joints, as augment.detector_noise measures it; NaN if one is NaN."""
    y = keypoints_px[..., 1]
    return y.max(axis=-1) - y.min(axis=-1)


def centred_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of (F, ...) over ``window`` (odd) frames centred on each, along axis 0, over finite samples only; the
    window is cut at the ends; NaN where it holds no more than half its frames' worth of finite samples."""
    half = window // 2
    finite = np.isfinite(x)
    pad = [(half + 1, half)] + [(0, 0)] * (x.ndim - 1)
    total = np.cumsum(np.pad(np.where(finite, x, 0.0), pad), axis=0)
    count = np.cumsum(np.pad(finite.astype(np.float64), pad), axis=0)
    total, count = total[window:] - total[:-window], count[window:] - count[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > half, total / count, np.nan)


def _lagged(x: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (x_t, x_t+lag) along axis 0 where both are finite, flattened."""
    a, b = x[:-lag], x[lag:]
    both = np.isfinite(a) & np.isfinite(b)
    return a[both], b[both]


def autocorrelation(x: np.ndarray, lag: int) -> float:
    """Autocorrelation at ``lag`` frames of (F, ...) series along axis 0, pooled over the other axes, moments
    about zero (a joint's constant offset is error too), over the pairs where both samples are finite."""
    a, b = _lagged(x, lag)
    if a.size == 0:
        return float("nan")
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def fit_drift(x: np.ndarray, step: int = 1) -> tuple[float, float, float]:
    """Fit x = drift + jitter to (F, ...) series along axis 0: drift AR(1) with coefficient phi per ``step``
    frames, jitter white. Moments about zero: c(k) = drift_var * phi^k for k >= 1, so phi = c(2 step) / c(step)
    (clipped to [0, 1]) and drift_var = c(step) / phi. Returns (phi, drift std, jitter std)."""
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return float("nan"), float("nan"), float("nan")
    total = float(np.mean(finite * finite))
    c1, c2 = (float(np.mean(a * b)) if a.size else np.nan for a, b in (_lagged(x, step), _lagged(x, 2 * step)))
    if not (np.isfinite(c1) and np.isfinite(c2)) or c1 <= 0.0 or c2 <= 0.0:
        return 0.0, 0.0, float(np.sqrt(total))
    phi = min(c2 / c1, 1.0)
    drift = min(c1 / phi, total)
    return phi, float(np.sqrt(drift)), float(np.sqrt(total - drift))


def run_lengths(flags: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True along axis 0 of (F, ...) bool, every column separately, as one int array."""
    flags = np.asarray(flags, bool).reshape(len(flags), -1)
    padded = np.pad(flags, ((1, 1), (0, 0))).astype(np.int8)
    edges = np.diff(padded, axis=0)
    starts = np.argwhere(edges.T == 1)  # (column, frame), ordered by column then frame, as are the ends
    ends = np.argwhere(edges.T == -1)
    return ends[:, 1] - starts[:, 1]


def bridge(flags: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(F, ...) bool flags whose unknown frames (``known`` False) are True where the nearest known frames before
    and after both are: a run is not split by frames that could not be judged (no reference there)."""
    frames = len(flags)
    index = np.arange(frames).reshape((frames,) + (1,) * (flags.ndim - 1))
    before = np.maximum.accumulate(np.where(known, index, -1), axis=0)
    after = np.flip(np.minimum.accumulate(np.flip(np.where(known, index, frames), axis=0), axis=0), axis=0)
    true_before = np.take_along_axis(flags, np.clip(before, 0, frames - 1), axis=0) & (before >= 0)
    true_after = np.take_along_axis(flags, np.clip(after, 0, frames - 1), axis=0) & (after < frames)
    return np.where(known, flags, true_before & true_after)


def runs_at(flags: np.ndarray, step: int) -> tuple[np.ndarray, int]:
    """Run lengths of (F, ...) flags in frames of every ``step``-th frame, all ``step`` phases pooled, and the
    number of frames (times columns) they were counted over."""
    return (np.concatenate([run_lengths(flags[phase::step]) for phase in range(step)]),
            sum(flags[phase::step].size for phase in range(step)))


def swap_flags(keypoints_px: np.ndarray, reference_px: np.ndarray, height_px: np.ndarray,
               margin: float = SWAP_MARGIN_PER_HEIGHT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left/right swaps of SWAP_PAIRS. keypoints_px, reference_px: (..., 17, 2); height_px: (...).

    A joint is on the wrong side where it is nearer the other side's reference than its own by more than
    margin x height. Returns (swapped: both joints of a pair on the wrong side, one_sided: exactly one,
    evaluable: both joints and both references finite), each (..., len(SWAP_PAIRS)) bool.
    """
    left, right = np.array(list(SWAP_PAIRS.values())).T
    det_l, det_r = keypoints_px[..., left, :], keypoints_px[..., right, :]
    ref_l, ref_r = reference_px[..., left, :], reference_px[..., right, :]
    limit = margin * height_px[..., None]
    with np.errstate(invalid="ignore"):
        wrong_l = np.linalg.norm(det_l - ref_r, axis=-1) < np.linalg.norm(det_l - ref_l, axis=-1) - limit
        wrong_r = np.linalg.norm(det_r - ref_l, axis=-1) < np.linalg.norm(det_r - ref_r, axis=-1) - limit
    evaluable = np.isfinite(det_l + det_r + ref_l + ref_r).all(axis=-1) & np.isfinite(limit)
    return wrong_l & wrong_r & evaluable, (wrong_l ^ wrong_r) & evaluable, evaluable


def noise_stats(keypoints_px: np.ndarray, confidence: np.ndarray, reference_px: np.ndarray,
                fps: float) -> NoiseStats:
    """Statistics of detections against a reference, pooled over V series (views).

    keypoints_px: (V, F, 17, 2) detected; confidence: (V, F, 17); reference_px: (V, F, 17, 2) the reference
    projected into the same pixels, NaN where missing. The person's height per frame is the reference's, or the
    detection's where the reference lacks a joint. Time runs along axis 1 at ``fps``.
    """
    # Time first: (F, V, ...), so every helper works along axis 0.
    det, conf, ref = (np.moveaxis(np.asarray(a, np.float64), 1, 0) for a in (keypoints_px, confidence, reference_px))
    height = person_height_px(ref)
    height = np.where(np.isfinite(height), height, person_height_px(det))
    height = np.where(height > 0, height, np.nan)
    error_px = det - ref  # (F, V, 17, 2)
    error = error_px / height[..., None, None]
    distance = np.linalg.norm(error, axis=-1)  # (F, V, 17)
    finite = np.isfinite(distance)
    step = max(1, round(fps / TRAINING_FPS))

    swapped, one_sided, evaluable = swap_flags(det, ref, height)
    swapped_joint = np.zeros(distance.shape, bool)
    for p, pair in enumerate(SWAP_PAIRS.values()):
        swapped_joint[..., list(pair)] |= swapped[..., p, None]
    outlier = finite & (distance > OUTLIER_PER_HEIGHT)
    inlier = finite & ~outlier & ~swapped_joint
    clean = np.where(inlier[..., None], error, np.nan)

    window = 2 * int(SLOW_WINDOW_S * fps / 2) + 1
    slow = centred_mean(clean, window)
    fast = clean - slow
    drift_ar1, drift_std, jitter_std = fit_drift(clean, step)

    low = ~(conf >= MIN_CONFIDENCE) | ~np.isfinite(det).all(axis=-1)
    limb_low = [low[..., list(limb)] for limb in DISTAL_LIMBS]
    low_distal = sum(int(x.sum()) for x in limb_low)
    low_runs, low_count = runs_at(low, step)
    low_rate_joint = low.mean(axis=(0, 1))
    most_low = np.argsort(-low_rate_joint, kind="stable")[:3]
    frame_known = evaluable.any(axis=-1)
    frame_swapped = swapped.any(axis=-1)
    part = [swapped[..., [list(SWAP_PAIRS).index(name) for name in names]].any(axis=-1) for names in BODY_PARTS]
    swap_runs, swap_count = runs_at(bridge(frame_swapped, frame_known), step)

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(_quiet(np.nanmean, x * x)))

    return NoiseStats(
        frames=int(finite.any(axis=-1).sum()),
        height_px=float(_quiet(np.nanmedian, height)),
        std={**{g: rms(error[..., list(j), :]) for g, j in GROUPS.items()}, "all": rms(error)},
        std_px={**{g: rms(error_px[..., list(j), :]) for g, j in GROUPS.items()}, "all": rms(error_px)},
        robust_std=float(1.4826 * _quiet(np.nanmedian, np.abs(error - _quiet(np.nanmedian, error)))),
        error_median=float(_quiet(np.nanmedian, distance)),
        error_p95=float(_quiet(np.nanpercentile, distance, 95)),
        frame_error_median=float(_quiet(np.nanmedian, _quiet(np.nanmean, distance, axis=-1))),
        frame_error_p95=float(_quiet(np.nanpercentile, _quiet(np.nanmean, distance, axis=-1), 95)),
        inlier_std=rms(clean),
        slow_std=rms(np.where(np.isfinite(fast), slow, np.nan)),
        fast_std=rms(fast),
        autocorr_60=autocorrelation(clean, 1),
        autocorr_30=autocorrelation(clean, step),
        drift_ar1=drift_ar1,
        drift_std=drift_std,
        jitter_std=jitter_std,
        drift_ar1_full=fit_drift(clean, 1)[0],
        swap_frames=int(frame_known.sum()),
        swap_rate=float(frame_swapped.sum() / max(frame_known.sum(), 1)),
        swap_rate_pair={name: float(swapped[..., p].sum() / max(evaluable[..., p].sum(), 1))
                        for p, name in enumerate(SWAP_PAIRS)},
        swap_whole_body=float(np.logical_and.reduce(part).sum() / frame_swapped.sum()) if frame_swapped.any()
        else float("nan"),
        swap_one_sided=float(one_sided.any(axis=-1).sum() / max(frame_known.sum(), 1)),
        swap_start_30=swap_runs.size / swap_count,
        swap_run_30=float(swap_runs.mean()) if swap_runs.size else float("nan"),
        swap_run_30_max=int(swap_runs.max()) if swap_runs.size else 0,
        confidence_p5=float(np.percentile(conf, 5)),
        confidence_p50=float(np.percentile(conf, 50)),
        low_rate={threshold: float((~(conf >= threshold)).mean()) for threshold in CONFIDENCE_THRESHOLDS},
        low_frames=float(low.any(axis=-1).mean()),
        low_start_30=low_runs.size / low_count,
        low_run_30=float(low_runs.mean()) if low_runs.size else float("nan"),
        low_run_30_max=int(low_runs.max()) if low_runs.size else 0,
        low_whole_limb=float(sum(int(x.all(axis=-1).sum()) * 2 for x in limb_low) / low_distal)
        if low_distal else float("nan"),
        low_joints=tuple((H36M17.names[j], float(low_rate_joint[j])) for j in most_low if low_rate_joint[j] > 0),
        low_error=float(_quiet(np.nanmedian, distance[low])),
        confident_error=float(_quiet(np.nanmedian, distance[~low])),
        outlier_rate=float(outlier.sum() / max(finite.sum(), 1)),
        outlier_rate_unswapped=float((outlier & ~swapped_joint).sum() / max(finite.sum(), 1)),
        outlier_error_median=float(_quiet(np.nanmedian, distance[outlier])),
        inlier_confidence=float(_quiet(np.nanmedian, conf[inlier])),
        outlier_confidence=float(_quiet(np.nanmedian, conf[outlier])),
    )


def leave_one_out_cam_m(reference: Pose2SimReference) -> np.ndarray:
    """(V, F, 17, 3): for each view, the reference triangulated from the other views only (robust DLT of their
    H36M-17 keypoints, spikes dropped as pose2sim.glitches does), in that view's optical frame and frames."""
    from pose3d_ros.eval.pose2sim import glitches

    V, F, J = reference.confidence.shape
    offset = reference.frame_offset
    synced_px = shift_frames(reference.keypoints_px, offset).reshape(V, F * J, 2)
    synced_confidence = shift_frames(reference.confidence, offset, fill=0.0).reshape(V, F * J)
    out = np.full((V, F, J, 3), np.nan)
    for v in range(V):
        others = [u for u in range(V) if u != v]
        points, _ = triangulate_robust(synced_px[others], synced_confidence[others], reference.K[others],
                                       reference.R[others], reference.t[others])
        points = points.reshape(F, J, 3)
        points[glitches(points)] = np.nan
        cam = points @ reference.R[v].T + reference.t[v]
        out[v] = shift_frames(cam[None], -offset[v:v + 1])[0]
    return out


def reference_bias(reference: Pose2SimReference, seed: int = 0, sigma_px: float = 5.0) -> tuple[float, float]:
    """What iid Gaussian keypoint noise of std s on this rig's views and poses shows as: (RMS residual per
    coordinate against the all-view triangulation / s, against the other views' triangulation / s).
    Plain equal-weight DLT, no outlier step; the residual is linear in the noise (to first order), so the
    factors hold for any noise that is alike and independent across views, whatever its time structure."""
    rng = np.random.default_rng(seed)
    points = reference.reference_world_m.reshape(-1, 3)
    points = points[np.isfinite(points).all(axis=-1)]
    K, R, t = reference.K, reference.R, reference.t
    noisy = project(points, K, R, t) + sigma_px * rng.standard_normal((len(K), len(points), 2))
    ones = np.ones(noisy.shape[:2])
    residual_all = project(triangulate(noisy, ones, K, R, t), K, R, t) - noisy
    residual_loo = []
    for v in range(len(K)):
        others = [u for u in range(len(K)) if u != v]
        loo = triangulate(noisy[others], ones[others], K[others], R[others], t[others])
        residual_loo.append(project(loo, K[v:v + 1], R[v:v + 1], t[v:v + 1])[0] - noisy[v])
    return (float(np.sqrt(np.mean(residual_all ** 2))) / sigma_px,
            float(np.sqrt(np.mean(np.square(residual_loo)))) / sigma_px)


def measure(reference: Pose2SimReference, reference_cam_m: np.ndarray | None = None) -> dict[str, NoiseStats]:
    """NoiseStats per view name and pooled ("all"), against ``reference_cam_m`` (V, F, 17, 3) (default: the
    reference's own, triangulated from all views; see leave_one_out_cam_m)."""
    cam_m = reference.reference_cam_m if reference_cam_m is None else reference_cam_m
    reference_px = np.stack([project_px(cam_m[v], reference.K[v]) for v in range(len(reference.names))])
    args = (reference.keypoints_px, reference.confidence, reference_px)
    stats = {name: noise_stats(*(a[v:v + 1] for a in args), reference.fps) for v, name in enumerate(reference.names)}
    stats["all"] = noise_stats(*args, reference.fps)
    return stats


def _pct(x: float) -> str:
    return f"{x:.2%}" if np.isfinite(x) else "–"


def _rows(stats: dict[str, NoiseStats], cells) -> list[str]:
    return [f"| {'**all**' if name == 'all' else name} | " + " | ".join(cells(s)) + " |" for name, s in stats.items()]


def tables(stats: dict[str, NoiseStats]) -> str:
    """Markdown tables of measure()'s output: error size, temporal structure, swaps, confidence, outliers."""
    groups = list(GROUPS) + ["all"]
    lines = [
        "Error per image coordinate, RMS / 2D height (px at the view's resolution); Euclidean error per joint-frame "
        "and per-frame mean over joints / height:\n",
        "| view | frames | height px | " + " | ".join(groups) + " | robust std | joint median | joint p95 | "
        "frame median | frame p95 |",
        "|---" * (len(groups) + 8) + "|",
        *_rows(stats, lambda s: [str(s.frames), f"{s.height_px:.0f}",
                                 *(f"{_pct(s.std[g])} ({s.std_px[g]:.1f})" for g in groups),
                                 *map(_pct, (s.robust_std, s.error_median, s.error_p95, s.frame_error_median,
                                             s.frame_error_p95))]),
        "",
        f"Temporal structure per coordinate / height, over inliers (error <= {OUTLIER_PER_HEIGHT:g} x height, not "
        f"swapped): slow = centred mean over {SLOW_WINDOW_S:g} s, fast = the rest; lag-1 autocorrelation; "
        "AR(1) drift + white jitter fitted at 30 fps (phi per 30 fps frame; phi at 60 fps squared should match):\n",
        "| view | inlier std | slow std | fast std | autocorr 60 fps | autocorr 30 fps | drift phi 30 fps | "
        "drift std | jitter std | phi 60 fps ^2 |",
        "|---" * 10 + "|",
        *_rows(stats, lambda s: [*map(_pct, (s.inlier_std, s.slow_std, s.fast_std)), f"{s.autocorr_60:.2f}",
                                 f"{s.autocorr_30:.2f}", f"{s.drift_ar1:.2f}", _pct(s.drift_std), _pct(s.jitter_std),
                                 f"{s.drift_ar1_full ** 2:.2f}"]),
        "",
        f"Left/right swaps: both joints of a pair nearer the other side's reference by > {SWAP_MARGIN_PER_HEIGHT:g} x "
        "height; rates per evaluable frame; whole body = share of swapped frames where torso, arm and leg pairs all "
        "swap; one-sided = only one joint of a pair on the wrong side; runs of swapped frames at 30 fps: starts per "
        "frame, mean and max length in frames:\n",
        "| view | frames | any pair | " + " | ".join(SWAP_PAIRS) + " | whole body | one-sided | starts | mean run | "
        "max run |",
        "|---" * (len(SWAP_PAIRS) + 8) + "|",
        *_rows(stats, lambda s: [str(s.swap_frames), _pct(s.swap_rate), *map(_pct, s.swap_rate_pair.values()),
                                 _pct(s.swap_whole_body), _pct(s.swap_one_sided), _pct(s.swap_start_30),
                                 f"{s.swap_run_30:.1f}" if s.swap_run_30_max else "–", str(s.swap_run_30_max)]),
        "",
        f"Confidence: joint-frames below each threshold (lifter's missing {LIFTER_MIN_CONFIDENCE:g}, tracker 0.3, "
        f"triangulation {MIN_CONFIDENCE:g}); the rest at < {MIN_CONFIDENCE:g}: frames with any, one joint's runs at "
        "30 fps (starts per joint-frame, mean and max length in frames), share of low elbows/wrists/knees/ankles "
        "whose limb partner is low too, median error / height:\n",
        "| view | conf p5 | conf median | " + " | ".join(f"< {c:g}" for c in CONFIDENCE_THRESHOLDS)
        + " | frames with any | starts | mean run | max run | whole limb | most often | error low | "
        "error confident |",
        "|---" * (len(CONFIDENCE_THRESHOLDS) + 11) + "|",
        *_rows(stats, lambda s: [f"{s.confidence_p5:.2f}", f"{s.confidence_p50:.3f}",
                                 *map(_pct, s.low_rate.values()), _pct(s.low_frames), _pct(s.low_start_30),
                                 f"{s.low_run_30:.1f}" if s.low_run_30_max else "–", str(s.low_run_30_max),
                                 _pct(s.low_whole_limb), ", ".join(f"{n} {r:.0%}" for n, r in s.low_joints) or "–",
                                 _pct(s.low_error), _pct(s.confident_error)]),
        "",
        f"Outliers: joint-frames with error > {OUTLIER_PER_HEIGHT:g} x height, all and not from a swap; their median "
        "error / height; median confidence of inliers and outliers:\n",
        "| view | outliers | not swaps | outlier error | conf inliers | conf outliers |",
        "|---" * 6 + "|",
        *_rows(stats, lambda s: [_pct(s.outlier_rate), _pct(s.outlier_rate_unswapped), _pct(s.outlier_error_median),
                                 f"{s.inlier_confidence:.3f}", f"{s.outlier_confidence:.3f}" if s.outlier_rate
                                 else "–"]),
    ]
    return "\n".join(lines)


def training_table(all_views: NoiseStats, loo: NoiseStats, bias: tuple[float, float]) -> str:
    """The numbers a 30 fps training noise model needs, against both references, the Gaussian ones also
    divided by reference_bias's factors (the two corrected columns agree where the iid model holds)."""
    a, b = bias

    def row(name: str, x: float, y: float, fmt=_pct, correct: bool = False) -> str:
        cells = [fmt(x), fmt(y)] + ([fmt(x / a), fmt(y / b)] if correct else ["", ""])
        return f"| {name} | " + " | ".join(cells) + " |"

    return "\n".join([
        "| parameter (30 fps, / 2D height) | all-view ref | leave-one-out ref | all-view / factor | "
        "leave-one-out / factor |",
        "|---|---|---|---|---|",
        row("inlier std per coordinate", all_views.inlier_std, loo.inlier_std, correct=True),
        row("jitter std (white)", all_views.jitter_std, loo.jitter_std, correct=True),
        row("drift std (AR(1))", all_views.drift_std, loo.drift_std, correct=True),
        row("drift AR(1) phi per frame", all_views.drift_ar1, loo.drift_ar1, fmt=lambda x: f"{x:.2f}"),
        row("frames with a left/right swap", all_views.swap_rate, loo.swap_rate),
        row("of which whole-body swaps", all_views.swap_whole_body, loo.swap_whole_body),
        row("swap starts per frame", all_views.swap_start_30, loo.swap_start_30),
        row("swap mean run (frames)", all_views.swap_run_30, loo.swap_run_30,
            fmt=lambda x: f"{x:.1f}" if np.isfinite(x) else "–"),
        row("swap longest run (frames)", all_views.swap_run_30_max, loo.swap_run_30_max, fmt=str),
        row(f"confidence < {MIN_CONFIDENCE:g} per joint", all_views.low_rate[MIN_CONFIDENCE],
            loo.low_rate[MIN_CONFIDENCE]),
        row(f"confidence < {MIN_CONFIDENCE:g} run starts per joint-frame", all_views.low_start_30, loo.low_start_30),
        row(f"confidence < {MIN_CONFIDENCE:g} mean run (frames)", all_views.low_run_30, loo.low_run_30,
            fmt=lambda x: f"{x:.1f}"),
        row("low-confidence distal joints whose limb partner is low too", all_views.low_whole_limb,
            loo.low_whole_limb),
        row("outliers (not swaps) per joint", all_views.outlier_rate_unswapped, loo.outlier_rate_unswapped),
        "",
        f"Factors (reference_bias: iid noise on this rig and these poses): all-view residual = {a:.2f} x the true "
        f"std, leave-one-out = {b:.2f} x.",
    ])


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.eval.pose2sim import load_reference

    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.detector_noise",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="cache folder (default: runs/cache)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    reference = load_reference(args.cache)
    by_reference = {"all-view": measure(reference), "leave-one-out": measure(reference, leave_one_out_cam_m(reference))}
    bias = reference_bias(reference)
    V, F = reference.confidence.shape[:2]
    print(f"MediaPipe BlazePose 2D (H36M-17) on Pose2Sim Demo_SinglePerson (pose2sim {reference.pose2sim_version}): "
          f"{V} views x {F} frames at {reference.fps:g} fps, measured in {time.perf_counter() - start:.2f} s.\n"
          "The all-view reference is triangulated from these same detections: its residuals underestimate the "
          "detector's error; the leave-one-out reference (other views only) overestimates it.")
    descriptions = {"all-view": "the reference triangulated from all 4 views (this view's detections included)",
                    "leave-one-out": "for each view, the reference triangulated from the other 3 views"}
    for name, stats in by_reference.items():
        print(f"\n## Against {descriptions[name]}\n")
        print(tables(stats))
    print("\n## Training noise model at 30 fps\n")
    print(training_table(by_reference["all-view"]["all"], by_reference["leave-one-out"]["all"], bias))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
