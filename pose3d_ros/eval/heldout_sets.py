"""Every lifter on every held-out set the package evaluates: P2 and acceleration error side by side, with which
sets were used for decisions and which were not.

Sets: Pose2Sim Demo_SinglePerson (real video, the real detector's 2D; mean of the 4 views, each lifted as the
node does), the held-out climb (sequence 4), DeepMimic dance_b and the CMU walk of the isaaclab wheel (motion
capture through virtual cameras, eval.heldout, with the package's detector-like 2D noise, and with exact 2D).
A set used to choose between training runs or checkpoints cannot also prove the choice; the table says which.

    python -m pose3d_ros.eval.heldout_sets [--model ampose --model spatial_temporal_rf81 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

FPS = 30.0
SEGMENT_S = 4.0
MODELS = ("ampose", "ampose_rf27", "causal_liu_rf81", "spatial_temporal_rf81")
# What each set decided; the model cards (pose3d_ros/weights/README.md) say the same per model.
DECISIONS = {
    "Pose2Sim": "limb rotations (issue 7), the measured detector noise (issue 14)",
    "climb 4": "every model's checkpoint (lowest noisy P1 during training)",
    "DeepMimic dance_b": "none",
    "CMU walk": "none",
}


def motion_sets(data: Path) -> dict[str, np.ndarray]:
    """Held-out motion capture at FPS: name -> (N, 17, 3) world joints (z up, floor at 0)."""
    from pose3d_ros.data import deepmimic, isaaclab_amp, mocap

    return {"climb 4": mocap.load_sequence(mocap.find_sequences()[4])[:: round(mocap.MOCAP_FPS / FPS)],
            "DeepMimic dance_b": deepmimic.load_clips(data, fps=FPS)["dance_b"],
            "CMU walk": isaaclab_amp.load_clips(data, fps=FPS)["walk"]}


def measure(lifter, reference, motions: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Set name -> {"p2_mm", "accel_mm"} for one lifter; motion sets also exact 2D ("... exact")."""
    from pose3d_ros.eval.compare import pose2sim_errors
    from pose3d_ros.eval.heldout import evaluate_heldout

    out = {"Pose2Sim": pose2sim_errors(reference, lifter)}
    for name, world in motions.items():
        segment_s = min(SEGMENT_S, len(world) / FPS)  # a clip shorter than a segment is one segment
        for noisy, suffix in ((True, ""), (False, " exact")):
            out[name + suffix] = evaluate_heldout(lifter, fps=FPS, segment_s=segment_s, noisy=noisy, world=world)
    return out


def table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown: one row per set and metric, one column per model; the best of each row in bold."""
    models = list(results)
    sets = list(next(iter(results.values())))
    lines = ["| set | used for decisions | metric | " + " | ".join(models) + " |",
             "|---|---|---|" + "---|" * len(models)]
    for name in sets:
        for metric, label in (("p2_mm", "P2 mm"), ("accel_mm", "accel mm/frame²")):
            values = [results[m][name][metric] for m in models]
            best = int(np.argmin(values))
            cells = [f"**{v:.1f}**" if i == best else f"{v:.1f}" for i, v in enumerate(values)]
            used = DECISIONS.get(name.removesuffix(" exact"), "none")
            lines.append(f"| {name} | {used} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.eval.pose2sim import load_reference
    from pose3d_ros.lift import make_lifter, resolve_model

    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.heldout_sets", description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", default=[], help=f"lifter (repeatable; default: {MODELS})")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="Pose2Sim reference cache folder")
    parser.add_argument("--data", type=Path, default=Path("runs/data"),
                        help="folder of the pybullet 3.2.7 and isaaclab 3.0.0 wheels (tools/setup.sh downloads them)")
    args = parser.parse_args(argv)
    reference = load_reference(args.cache)
    motions = motion_sets(args.data)
    results = {}
    for name in tqdm(args.model or MODELS, desc="models", unit="model"):
        lifter = make_lifter("onnxruntime", resolve_model(name, "onnxruntime"), num_threads=1)
        results[name] = measure(lifter, reference, motions)
    print(f"P2 and acceleration error per held-out set (motion capture at {FPS:g} fps through virtual cameras, "
          "with the package's detector-like 2D noise unless 'exact'; Pose2Sim: the real detector, mean of 4 views)\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
