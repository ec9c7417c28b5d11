"""pose3d-ros compare: every lifter in one table, to answer "which lifter should my robot run".

For each model file (default: every .onnx in the package's weights folder, each with its .pt sibling):
parameters, MFLOPs per output frame, ONNX Runtime CPU latency for 1 and 8 people (one thread), P1 / P2 /
acceleration error / root error on Pose2Sim Demo_SinglePerson (mean over the 4 views, each lifted on its own
as the node does) and P1 / P2 / acceleration error on the held-out climb motion capture, and ONNX-vs-torch
parity. Prints the markdown table and writes it, a JSON copy and the accuracy-against-latency plot into the
output folder. Keep the CPU otherwise idle while it runs: the latency columns are timings.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[],
                        help=".onnx model file or a name in the package's weights folder (repeatable; default: "
                             "every .onnx there)")
    parser.add_argument("--out", type=Path, help="output folder (default: runs/compare-<time>)")
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="Pose2Sim reference cache folder")
    parser.add_argument("--repeats", type=int, default=1000, help="timed lift() calls per latency cell")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from pose3d_ros.eval.baseline import evaluate_mediapipe
    from pose3d_ros.eval.compare import measure, plot, table
    from pose3d_ros.eval.pose2sim import load_reference
    from pose3d_ros.lift import WEIGHTS_DIR, resolve_model

    models = [resolve_model(m, "onnxruntime") for m in args.model] or sorted(WEIGHTS_DIR.glob("*.onnx"))
    missing = [str(m) for m in models if not m.is_file() or not m.with_suffix(".pt").is_file()]
    if missing:
        raise FileNotFoundError(f"model files {missing} (or their .pt siblings) not found; expected .onnx files "
                                "written by pose3d_ros.training.export")
    out = args.out or Path("runs") / time.strftime("compare-%Y%m%d-%H%M%S")
    reference = load_reference(args.cache)
    rows = [measure(m, reference, args.repeats) for m in tqdm(models, desc="models", unit="model")]
    mediapipe_views = evaluate_mediapipe(reference)
    mediapipe = {k: float(np.mean([np.nanmean(getattr(v, k)) for v in mediapipe_views]))
                 for k in ("p1_mm", "p2_mm", "accel_mm")}
    report = (f"Lifters on this CPU and on the lifter issue's evaluation sets (mm; accel in mm/frame^2; Pose2Sim: "
              f"mean of {len(reference.names)} views; climb: held-out sequence 4 with detector-like 2D noise)\n\n"
              + table(rows, mediapipe))
    print(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(report + "\n")
    (out / "compare.json").write_text(json.dumps({"models": [asdict(r) for r in rows], "mediapipe": mediapipe},
                                                 indent=2) + "\n")
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'} and {plot(rows, out, mediapipe)}")
    return 0
