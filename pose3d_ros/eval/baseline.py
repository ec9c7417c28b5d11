"""The MediaPipe world-landmark baseline on the Pose2Sim reference: what a single-view lifter has to beat.

MediaPipe's world landmarks are metric, hip-centred and camera-axis aligned, so they compare root-relative
with the reference in each camera's optical frame, view by view. Target for the project's lifter: P2 at or
below MediaPipe's, acceleration error at or below half of it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from pose3d_ros.eval.metrics import accel_error_mm, p1_mm, p2_mm
from pose3d_ros.layouts import H36M17

if TYPE_CHECKING:
    from pose3d_ros.eval.pose2sim import Pose2SimReference


@dataclass(frozen=True)
class ViewErrors:
    """One view's errors: p1_mm, p2_mm (F, J); accel_mm (F - 2, J) in mm/frame^2; NaN where not comparable."""

    p1_mm: np.ndarray
    p2_mm: np.ndarray
    accel_mm: np.ndarray


def evaluate_view(pred_cam_m: np.ndarray, ref_cam_m: np.ndarray) -> ViewErrors:
    """Errors of (F, 17, 3) predictions against the (F, 17, 3) reference of the same view (camera frame)."""
    return ViewErrors(p1_mm(pred_cam_m, ref_cam_m), p2_mm(pred_cam_m, ref_cam_m), accel_error_mm(pred_cam_m, ref_cam_m))


def evaluate_mediapipe(reference: Pose2SimReference) -> list[ViewErrors]:
    """ViewErrors of MediaPipe's world landmarks in each view of ``reference``."""
    return [evaluate_view(reference.mediapipe_world_m[v], reference.reference_cam_m[v])
            for v in range(len(reference.names))]


def baseline_table(reference: Pose2SimReference, errors: list[ViewErrors]) -> str:
    """Markdown table of mean P1, P2 (mm) and acceleration error (mm/frame^2) per view and over views."""
    lines = ["| view | frames compared | P1 mm | P2 mm | accel mm/frame^2 |", "|---|---|---|---|---|"]
    rows = []
    for name, e in zip(reference.names, errors):
        frames = int(np.isfinite(e.p1_mm).any(axis=1).sum())
        row = [np.nanmean(e.p1_mm), np.nanmean(e.p2_mm), np.nanmean(e.accel_mm)]
        rows.append(row)
        lines.append(f"| {name} | {frames}/{len(e.p1_mm)} | " + " | ".join(f"{x:.1f}" for x in row) + " |")
    lines.append("| **mean** | | " + " | ".join(f"**{x:.1f}**" for x in np.mean(rows, axis=0)) + " |")
    return "\n".join(lines)


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    """np.nanmean without the warning for all-NaN slices (frames before a late view starts), which stay NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def plot_errors(reference: Pose2SimReference, errors: list[ViewErrors], out: Path,
                method: str = "MediaPipe world landmarks") -> list[Path]:
    """Write per-joint P1/P2 bars and P2 / acceleration error over time into ``out``; return the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    slug = method.split()[0].lower()
    colors = plt.get_cmap("tab10").colors
    names = [n.replace("_", " ") for n in H36M17.names]

    fig, axes = plt.subplots(2, 1, figsize=(12, 7.5), sharex=True, constrained_layout=True)
    width = 0.8 / len(errors)
    for ax, metric in zip(axes, ("p1_mm", "p2_mm")):
        for v, (name, e) in enumerate(zip(reference.names, errors)):
            ax.bar(np.arange(17) + (v - (len(errors) - 1) / 2) * width, _nanmean(getattr(e, metric), axis=0),
                   width, label=name, color=colors[v])
        ax.set_ylabel(f"{metric[:2].upper()} (mm)")
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"{method} vs. 4-view triangulated reference: error per joint")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(errors))
    axes[1].set_xticks(np.arange(17), names, rotation=40, ha="right")
    per_joint = out / f"{slug}_per_joint.png"
    fig.savefig(per_joint, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(2, 1, figsize=(12, 7), sharex=True, constrained_layout=True)
    for v, (name, e) in enumerate(zip(reference.names, errors)):
        frames = np.arange(len(e.p2_mm))
        axes[0].plot(frames, _nanmean(e.p2_mm, axis=1), color=colors[v], label=name)
        axes[1].plot(frames[1:-1], _nanmean(e.accel_mm, axis=1), color=colors[v], label=name)
    axes[0].set_ylabel("P2 (mm), mean over joints")
    axes[1].set_ylabel("accel error (mm/frame$^2$)")
    axes[1].set_xlabel(f"frame of the view's own video ({reference.fps:g} fps)")
    fig.suptitle(f"{method} vs. 4-view triangulated reference: error over time")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(errors))
    for ax in axes:
        ax.grid(alpha=0.3)
    over_time = out / f"{slug}_over_time.png"
    fig.savefig(over_time, dpi=110)
    plt.close(fig)
    return [per_joint, over_time]
