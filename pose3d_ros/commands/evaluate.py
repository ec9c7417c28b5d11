"""pose3d-ros evaluate: the lifter on real recordings beside MediaPipe's own 3D, on held-out motion capture,
and its look-ahead.

On Pose2Sim's Demo_SinglePerson (one person, four calibrated cameras; the reference is triangulated from
all four), each view is lifted on its own exactly as the ROS node does it. Prints markdown tables and writes
them with plots into the output folder:
  1. P1, P2, acceleration error and root translation error per view, beside MediaPipe's world landmarks;
  2. placement with the floor known (the calibration's z = 0) against without: root error, size ratio and
     the pose errors, per view; the held-out climb motion capture (never trained on) through virtual cameras,
     exact and noisy 2D, without and with the floor;
  3. latency compensation: absolute joint error against the real future frame, holding the newest pose vs
     predicting it, on the lifted poses and on the reference itself (a perfect lifter);
  4. every person in view: the 2D front end's tracks on the demo video against a by-eye reference (share of
     visible person-frames found, duplicates, id switches), beside MediaPipe's one-person API;
  5. two people on Pose2Sim's Demo_MultiPerson: per view and person, detection rate, id switches and the
     lifter's errors against a reference triangulated from all four views (an evaluation-only set).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

LOOKAHEADS_S = (0.05, 0.1, 0.15)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="", help="lifter model: a file, or a name from the package's weights "
                        "folder such as videopose3d_rf81 (default: the package's causal model)")
    parser.add_argument("--backend", default="onnxruntime", help="lifter runtime: onnxruntime or torch")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/eval-<time>)")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="reference cache folder")


def lookahead_table(reference, lifted) -> str:
    from pose3d_ros.eval.lookahead import lookahead_errors

    lines = ["| look-ahead | lifted: hold mm | lifted: predict mm | reference: hold mm | reference: predict mm |",
             "|---|---|---|---|---|"]
    for lookahead_s in LOOKAHEADS_S:
        row = []
        for source in ([view.joints_cam_m for view in lifted], reference.reference_cam_m):
            errors = [lookahead_errors(joints, ref, reference.fps, lookahead_s)
                      for joints, ref in zip(source, reference.reference_cam_m)]
            row += [np.mean([np.nanmean(held) for held, _ in errors]),
                    np.mean([np.nanmean(predicted) for _, predicted in errors])]
        lines.append(f"| {lookahead_s * 1e3:.0f} ms | " + " | ".join(f"{x:.1f}" for x in row) + " |")
    return "\n".join(lines)


def multiperson_demo_table() -> str:
    from pose3d_ros.eval.demo_people import evaluate_demo

    sections = []
    for detector, options in (("blazepose", {"backend": "onnxruntime"}), ("mediapipe_legacy", {})):
        score = evaluate_demo(detector, **options)
        sections.append(f"### {detector}\n\n{score.table()}")
    return "\n\n".join(sections)


def run(args: argparse.Namespace) -> int:
    from pose3d_ros.eval.baseline import evaluate_mediapipe, plot_errors
    from pose3d_ros.eval.lifter import comparison_table, evaluate_lifter
    from pose3d_ros.eval.placement import heldout_table, pose2sim_table
    from pose3d_ros.eval.pose2sim import load_reference
    from pose3d_ros.eval.pose2sim_multi import evaluate_multiperson
    from pose3d_ros.lift import make_lifter, resolve_model

    out = args.out or Path("runs") / time.strftime("eval-%Y%m%d-%H%M%S")
    model = resolve_model(args.model, args.backend)
    reference = load_reference(args.cache)
    lifter = make_lifter(args.backend, model, num_threads=1)
    lifted = evaluate_lifter(reference, lifter)
    on_floor = evaluate_lifter(reference, lifter, use_floor=True)
    mediapipe = evaluate_mediapipe(reference)
    sections = [
        f"# {model.name} on Pose2Sim Demo_SinglePerson (pose2sim {reference.pose2sim_version}, "
        f"{reference.keypoints_px.shape[1]} frames per view at {reference.fps:g} fps)",
        "## Per view, against the 4-view triangulated reference (mm; acceleration in mm/frame^2)",
        comparison_table(reference, lifted, mediapipe, "lifter"),
        "## Placement with the floor known (the calibration's z = 0) and without, per view (mm; accel in "
        "mm/frame^2)",
        pose2sim_table(reference, lifted, on_floor),
        "## Held-out climb motion capture (sequence 4), 30 fps, virtual cameras, without and with the floor "
        "(the mocap's z = 0) (mm; accel in mm/frame^2)",
        heldout_table(lifter),
        "## Latency compensation: absolute joint error against the frame that look-ahead later (mm)",
        lookahead_table(reference, lifted),
        "## Every person in view: the demo video's tracks against the by-eye reference "
        "(test/data/sports2d_demo_people.csv)",
        multiperson_demo_table(),
        "## Two people, Pose2Sim Demo_MultiPerson: per view and person (mm)",
        evaluate_multiperson(args.cache, lifter)[0],
    ]
    report = "\n\n".join(sections)
    print(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(report + "\n")
    for path in [*plot_errors(reference, [v.errors for v in lifted], out, method="Causal lifter"),
                 *plot_errors(reference, mediapipe, out)]:
        print(f"wrote {path}")
    return 0
