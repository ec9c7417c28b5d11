"""Per-step lifter latency: median milliseconds of ``lift()`` (normalisation + inference) per backend,
receptive field and number of people, printed as a table.

    python -m pose3d_ros.training.benchmark [--model pose3d_ros/weights/causal_liu_rf81.onnx] [--untrained-rf 243]

Without ``--model`` it times the package's default lifter. ``--untrained-rf`` also times randomly initialised
models of the first model's architecture and width at that receptive field (latency does not depend on the
weights), exported to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from pose3d_ros.lift import DEFAULT_MODEL, make_lifter
from pose3d_ros.lift.architectures import build_model
from pose3d_ros.training.export import export, save_untrained

CAMERA = SimpleNamespace(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), width=1280, height=720)


def random_inputs(lifter, people: int) -> tuple:
    """Arguments for ``lifter.lift``: random keypoint windows around the image centre, and crops if it reads them."""
    rng = np.random.default_rng(0)
    kp = (rng.normal(0, 80, (people, lifter.receptive_field, 17, 2)) + [640, 360]).astype(np.float32)
    conf = rng.uniform(0.5, 1.0, kp.shape[:3]).astype(np.float32)
    size = lifter.crop_size
    crops = rng.random((people, 3, size, size), dtype=np.float32) if size else None
    return kp, conf, CAMERA, crops


def time_lift(lifter, people: int, repeats: int) -> float:
    """Median milliseconds of one ``lift()`` of ``people`` windows."""
    args = random_inputs(lifter, people)
    for _ in range(10):
        lifter.lift(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        lifter.lift(*args)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help=f".onnx (its .pt sibling for torch); default {DEFAULT_MODEL.name}")
    parser.add_argument("--untrained-rf", type=int, action="append", default=[], choices=(27, 81, 243))
    parser.add_argument("--people", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        models = list(args.model) or [DEFAULT_MODEL]
        meta = make_lifter("onnxruntime", models[0]).metadata
        for rf in args.untrained_rf:
            out = Path(tmp) / f"untrained_{meta['architecture']}_rf{rf}.onnx"
            model = build_model(meta["architecture"], {**json.loads(meta["model_config"]), "receptive_field": rf})
            export(save_untrained(model, meta["architecture"], out.with_suffix(".pt")), out)
            models.append(out)
        print(f"\n| model | backend | RF | people | median ms (threads={args.threads}) |\n|---|---|---|---|---|")
        for onnx_path in models:
            for backend, path in (("onnxruntime", onnx_path), ("torch", onnx_path.with_suffix(".pt"))):
                lifter = make_lifter(backend, path, num_threads=args.threads)
                for people in args.people:
                    ms = time_lift(lifter, people, args.repeats)
                    print(f"| {onnx_path.name} | {backend} | {lifter.receptive_field} | {people} | {ms:.2f} |")


if __name__ == "__main__":
    main()
