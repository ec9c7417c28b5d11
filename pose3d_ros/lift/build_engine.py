"""Build the TensorRT engine ahead of time (e.g. on the robot during install), into the lifter's engine cache.

    python -m pose3d_ros.lift.build_engine --model pose3d_ros/weights/causal_liu_rf81.onnx \
        --precision fp16 --max-people 8

Prints the equivalent trtexec command line, then (where TensorRT and a GPU are present) the cache key and
the engine's path, building it unless the cache already holds it. Exit status 2 when TensorRT is unavailable.
INT8 needs calibration windows: build it from Python with ``load_tensorrt_lifter(..., calibration=...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from pathlib import Path

from pose3d_ros.lift.engine_cache import PRECISIONS, EngineCache, default_engine_dir

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "causal_liu_rf81.onnx"


def onnx_input(onnx_path: Path) -> tuple[str, tuple[int, ...]]:
    """Name and per-person shape (all dims after the people dim) of the model's first input."""
    import onnx

    graph_input = onnx.load(str(onnx_path), load_external_data=False).graph.input[0]
    dims = graph_input.type.tensor_type.shape.dim[1:]
    return graph_input.name, tuple(d.dim_value for d in dims)


def trtexec_command(onnx_path: Path, engine_path: Path, precision: str, max_people: int, opt_people: int,
                    timing_cache: Path | None = None, workspace_mib: int = 256) -> str:
    """The trtexec command line that builds the engine build_engine builds (same profile, precision, pool)."""
    name, per_person = onnx_input(onnx_path)

    def shape(people: int) -> str:
        return f"{name}:{'x'.join(map(str, (people, *per_person)))}"

    args = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
            f"--minShapes={shape(1)}", f"--optShapes={shape(opt_people)}", f"--maxShapes={shape(max_people)}",
            f"--memPoolSize=workspace:{workspace_mib}"]
    args += {"fp16": ["--fp16"], "int8": ["--fp16", "--int8"], "fp32": []}[precision]
    if timing_cache is not None:
        args.append(f"--timingCacheFile={timing_cache}")
    return shlex.join(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=WEIGHTS, help="lifter ONNX file (default: %(default)s)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp16")
    parser.add_argument("--max-people", type=int, default=8, help="largest people count per call (default 8)")
    parser.add_argument("--opt-people", type=int, default=2, help="people count to tune kernels for (default 2)")
    parser.add_argument("--engine-dir", type=Path, default=None,
                        help=f"engine cache directory (default {default_engine_dir()})")
    parser.add_argument("--keep", type=int, default=3, help="engines kept per model (default 3)")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"model '{args.model}' not found")
    if not 1 <= args.opt_people <= args.max_people:
        parser.error(f"--opt-people {args.opt_people}; expected 1 .. --max-people ({args.max_people})")

    plain_engine = Path(f"{args.model.stem}.{args.precision}.p{args.max_people}.engine")
    print("equivalent trtexec build (an engine for trtexec --loadEngine; the lifter reads the cache below):")
    print("  " + trtexec_command(args.model, plain_engine, args.precision, args.max_people, args.opt_people))
    try:
        from pose3d_ros.lift.tensorrt_backend import engine_key, load_tensorrt_lifter
    except ImportError as exc:
        print(f"TensorRT unavailable here ({type(exc).__name__}: {exc}); run this on the target machine "
              "(see docs/jetson.md)", file=sys.stderr)
        return 2
    if args.precision == "int8":
        print("int8 needs calibration windows; build it from Python: load_tensorrt_lifter(..., calibration=...)",
              file=sys.stderr)
        return 2

    cache = EngineCache(args.engine_dir or default_engine_dir(), keep=args.keep)
    try:
        key = engine_key(args.model, args.precision, args.max_people)
    except RuntimeError as exc:  # cuda-python reports a missing GPU or driver when the device is queried
        print(f"no usable CUDA GPU here ({exc}); run this on the target machine (see docs/jetson.md)",
              file=sys.stderr)
        return 2
    print(f"cache key {key.digest()}:")
    for field, value in dataclasses.asdict(key).items():
        print(f"  {field}: {value}")
    print(f"engine: {cache.engine_path(key)}")
    print(f"timing cache: {cache.timing_cache_path(key)}")
    lifter = load_tensorrt_lifter(args.model, args.precision, args.max_people, cache, print, opt_people=args.opt_people)
    print(f"ready: {cache.engine_path(key)} ({lifter.engine.device_memory_size / 1e6:.1f} MB device memory)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
