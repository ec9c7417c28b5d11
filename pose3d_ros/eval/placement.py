"""Where people are placed, with and without the floor: root error, size ratio, and the pose errors a placement
could disturb, on Pose2Sim Demo_SinglePerson view by view and on the held-out climb through virtual cameras.

    python -m pose3d_ros.eval.placement [--model NAME] [--cache runs/cache]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pose3d_ros.camera import ROOT_FROM_FLOOR
from pose3d_ros.eval.lifter import LiftedView
from pose3d_ros.eval.pose2sim import Pose2SimReference
from pose3d_ros.lift import LifterRuntime


def pose2sim_table(reference: Pose2SimReference, without: list[LiftedView], with_floor: list[LiftedView]) -> str:
    """Markdown: per view, and the mean over views, without and with the floor: root error, P1, P2 (mm),
    acceleration error (mm/frame^2), size ratio and the share of lifted frames sized by the floor."""
    lines = ["| view | floor | root | P1 | P2 | accel | size ratio | floor-sized |",
             "|---|---|---|---|---|---|---|---|"]
    rows: dict[str, list[list[float]]] = {"no": [], "yes": []}
    for v, name in enumerate(reference.names):
        for floor, lifted in (("no", without[v]), ("yes", with_floor[v])):
            lifted_frames = lifted.root_source >= 0
            row = [np.nanmean(lifted.root_mm), np.nanmean(lifted.errors.p1_mm), np.nanmean(lifted.errors.p2_mm),
                   np.nanmean(lifted.errors.accel_mm), np.nanmean(lifted.size_ratio),
                   float((lifted.root_source[lifted_frames] == ROOT_FROM_FLOOR).mean())]
            rows[floor].append(row)
            lines.append(f"| {name} | {floor} | " + _cells(row) + " |")
    for floor, view_rows in rows.items():
        lines.append(f"| **mean** | {floor} | " + _cells(list(np.mean(view_rows, axis=0))) + " |")
    return "\n".join(lines)


def heldout_table(lifter: LifterRuntime, seeds: tuple[int, ...] = (0,)) -> str:
    """Markdown: the held-out climb (evaluate_heldout) with exact and noisy 2D, without and with the floor; each
    figure the mean over the virtual cameras of ``seeds``."""
    from pose3d_ros.eval.heldout import FOOT_DOWN_M, evaluate_heldout

    keys = ("p1_mm", "p2_mm", "accel_mm", "root_mm", "root_foot_down_mm", "root_raised_mm", "size_ratio",
            "floor_sized")
    lines = [f"| 2D input | floor | frames scored | P1 | P2 | accel | root | root, foot down (< {FOOT_DOWN_M:g} m) | "
             "root, raised | size ratio | floor-sized |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, noisy in (("exact", False), ("detector-like noise", True)):
        for use_floor in (False, True):
            runs = [evaluate_heldout(lifter, noisy=noisy, seed=seed, use_floor=use_floor) for seed in seeds]
            scored = f"{sum(r['frames_scored'] for r in runs)}/{sum(r['frames'] for r in runs)}"
            lines.append(f"| {name} | {'yes' if use_floor else 'no'} | {scored} | "
                         + _cells([float(np.mean([r[k] for r in runs])) for k in keys]) + " |")
    return "\n".join(lines)


def _cells(values: list[float]) -> str:
    """Millimetre figures to 0.1, then the size ratio to 0.001 and the share sized by the floor in percent."""
    *millimetres, size, floor_sized = values
    return " | ".join([*(f"{x:.1f}" for x in millimetres), f"{size:.3f}", f"{floor_sized:.0%}"])


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.eval.lifter import evaluate_lifter
    from pose3d_ros.eval.pose2sim import load_reference
    from pose3d_ros.lift import make_lifter, resolve_model

    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.placement", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="lifter model: a file or a name from the weights folder "
                        "(default: the package's causal model)")
    parser.add_argument("--backend", default="onnxruntime", help="lifter runtime: onnxruntime or torch")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="reference cache folder")
    parser.add_argument("--seeds", type=int, default=6, help="held-out climb: virtual camera draws (seeds 0..N-1)")
    args = parser.parse_args(argv)
    model = resolve_model(args.model, args.backend)
    lifter = make_lifter(args.backend, model, num_threads=1)
    reference = load_reference(args.cache)
    print(f"# {model.name}: placement with and without the floor (mm; accel in mm/frame^2)\n")
    print("## Pose2Sim Demo_SinglePerson, each view on its own, floor = the calibration's z = 0\n")
    print(pose2sim_table(reference, evaluate_lifter(reference, lifter),
                         evaluate_lifter(reference, lifter, use_floor=True)))
    print(f"\n## Held-out climb motion capture (sequence 4), 30 fps, virtual cameras of seeds 0-{args.seeds - 1}, "
          "floor = the mocap's z = 0\n")
    print(heldout_table(lifter, tuple(range(args.seeds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
