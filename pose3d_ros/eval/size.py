"""How big the lifter makes people: the size ratio (summed predicted bone lengths over true) on every evaluation
set, beside each set's true stature, and the stature the lifter implies on its own training data.

Single-view lifting cannot know a person's size; a lifter learns its training subjects' and gives everyone
about that. A prior can only move that one size toward a population's: this prints the lifter's implied stature
on the training motion (the size it gives its training subjects) so that such a correction can be judged
before anyone is tempted to tune a factor on an evaluation recording. No floor here (see eval.placement).

    python -m pose3d_ros.eval.size [--model NAME] [--cache runs/cache]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pose3d_ros.bodies import standing_height_m
from pose3d_ros.eval.heldout import evaluate_heldout
from pose3d_ros.eval.lifter import evaluate_lifter

FPS = 30.0
SEGMENT_S = 4.0  # evaluate_heldout's segments, one virtual camera each


def _stature_m(joints_m: np.ndarray) -> float:
    """Median standing height (bodies.standing_height_m) over (F, 17, 3) frames, NaN frames left out."""
    heights = [standing_height_m(j - j[0]) for j in joints_m if np.isfinite(j).all()]
    return float(np.median(heights))


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.data import deepmimic, mocap
    from pose3d_ros.eval.pose2sim import load_reference
    from pose3d_ros.lift import make_lifter, resolve_model

    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.size", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="", help="lifter model (default: the package's causal model)")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="Pose2Sim reference cache folder")
    parser.add_argument("--deepmimic", type=Path, default=Path("runs/data"),
                        help="folder of the pybullet 3.2.7 wheel (tools/setup.sh downloads it)")
    args = parser.parse_args(argv)
    lifter = make_lifter("onnxruntime", resolve_model(args.model, "onnxruntime"), num_threads=1)
    step = round(mocap.MOCAP_FPS / FPS)
    climbs = {f"climb {i}": mocap.load_sequence(path)[::step] for i, path in mocap.find_sequences().items()}
    clips = deepmimic.load_clips(args.deepmimic, fps=FPS)
    print("| set | trained on | true stature m | size ratio | implied stature m |\n|---|---|---|---|---|")
    implied_train = []
    for name, world in [*climbs.items(), *((f"DeepMimic {n}", c) for n, c in clips.items())]:
        if len(world) < SEGMENT_S * FPS:
            print(f"| {name} | – | – | – | shorter than one {SEGMENT_S:g} s segment |")
            continue
        trained = name not in ("climb 4", "DeepMimic dance_b")
        ratio = evaluate_heldout(lifter, fps=FPS, segment_s=SEGMENT_S, world=world)["size_ratio"]
        stature = _stature_m(world)
        if trained:
            implied_train.append(ratio * stature)
        print(f"| {name} | {'yes' if trained else 'no'} | {stature:.3f} | {ratio:.3f} | {ratio * stature:.3f} |")
    reference = load_reference(args.cache)
    for view, lifted in zip(reference.names, evaluate_lifter(reference, lifter)):
        ratio = float(np.nanmean(lifted.size_ratio))
        stature = _stature_m(reference.reference_cam_m[reference.names.index(view)])
        print(f"| Pose2Sim SinglePerson {view} | no | {stature:.3f} | {ratio:.3f} | {ratio * stature:.3f} |")
    print(f"\nThe lifter's implied stature over its training sets (mean of the sets): {np.mean(implied_train):.3f} m "
          f"(range {np.min(implied_train):.3f}-{np.max(implied_train):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
