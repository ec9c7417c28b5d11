"""One body per track: the lifter's skeletons with and without per-track bone lengths (LiftStage's
``consistent_bones``), on sets kept apart by their use.

Decisions (whether the node turns it on) are taken on the training climbs (sequences 0-3 of the climb motion
capture, through virtual cameras with detector-like 2D noise): the lifter has seen that motion, but not this
post-processing. The rule, written before the first run: on by default if on the decision set P1, P2, accel and
root each get no more than 1% worse and the bone length CV falls. Reported and never used for the decision: the
held-out climb (sequence 4) and Pose2Sim Demo_SinglePerson (4 real views).

    python -m pose3d_ros.eval.bones [--model NAME] [--cache runs/cache]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pose3d_ros.eval.heldout import evaluate_heldout
from pose3d_ros.eval.lifter import evaluate_lifter
from pose3d_ros.eval.metrics import bone_length_cv
from pose3d_ros.layouts import H36M17

COLUMNS = ("p1_mm", "p2_mm", "accel_mm", "root_mm", "size_ratio", "bone_cv")
HEADER = ("| set | use | bones | P1 mm | P2 mm | accel mm/frame² | root mm | size ratio | bone length CV |\n"
          "|---|---|---|---|---|---|---|---|---|")


def _row(name: str, use: str, consistent: bool, values: dict[str, float]) -> str:
    cells = [f"{values[k]:.1f}" for k in COLUMNS[:4]] + [f"{values['size_ratio']:.3f}", f"{values['bone_cv']:.3f}"]
    return f"| {name} | {use} | {'per track' if consistent else 'per frame'} | " + " | ".join(cells) + " |"


def _mean(results: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in results])) for k in COLUMNS}


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.eval.pose2sim import load_reference
    from pose3d_ros.lift import make_lifter, resolve_model

    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.bones", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="lifter model (default: the package's causal model)")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="Pose2Sim reference cache folder")
    args = parser.parse_args(argv)
    lifter = make_lifter("onnxruntime", resolve_model(args.model, "onnxruntime"), num_threads=1)
    reference = load_reference(args.cache)
    print(HEADER)
    for consistent in (False, True):
        dev = _mean([evaluate_heldout(lifter, sequence=s, consistent_bones=consistent) for s in range(4)])
        print(_row("training climbs 0-3, noisy 2D", "decision", consistent, dev))
    for consistent in (False, True):
        held = _mean([evaluate_heldout(lifter, sequence=4, seed=seed, consistent_bones=consistent)
                      for seed in range(3)])
        print(_row("held-out climb 4, noisy 2D, 3 camera draws", "report only", consistent, held))
    for consistent in (False, True):
        views = evaluate_lifter(reference, lifter, consistent_bones=consistent)
        values = {"p1_mm": np.mean([np.nanmean(v.errors.p1_mm) for v in views]),
                  "p2_mm": np.mean([np.nanmean(v.errors.p2_mm) for v in views]),
                  "accel_mm": np.mean([np.nanmean(v.errors.accel_mm) for v in views]),
                  "root_mm": np.mean([np.nanmean(v.root_mm) for v in views]),
                  "size_ratio": np.mean([np.nanmean(v.size_ratio) for v in views]),
                  "bone_cv": np.mean([bone_length_cv(v.joints_cam_m, H36M17.bones) for v in views])}
        print(_row("Pose2Sim SinglePerson, 4 views", "report only", consistent, values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
