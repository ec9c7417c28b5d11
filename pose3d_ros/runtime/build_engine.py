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

from pose3d_ros.lift.engine_cache import (
    PRECISIONS,
    EngineCache,
    default_engine_dir,
)
from pose3d_ros.lift.engine_inputs import EngineInput, lifter_inputs, profile_people

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "causal_liu_rf81.onnx"


def onnx_inputs(onnx_path: Path) -> tuple[EngineInput, ...]:
    """The lifter model's inputs (window, and image for image models) with their per-person shapes."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    weights = {w.name for w in graph.initializer}  # old exporters also list the weights as graph inputs
    shapes = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input if i.name not in weights}
    try:
        return lifter_inputs(shapes)
    except ValueError as exc:
        raise ValueError(f"'{onnx_path}': {exc}") from exc


def shapes_arg(inputs: tuple[EngineInput, ...], people: int) -> str:
    """trtexec's shape list for ``people`` people: "window:2x81x17x3,image:2x3x64x64"."""
    return ",".join(f"{i.name}:{'x'.join(map(str, i.shape(people)))}" for i in inputs)


def trtexec_command(onnx_path: Path, engine_path: Path, precision: str, max_people: int, opt_people: int,
                    timing_cache: Path | None = None, workspace_mib: int = 256) -> str:
    """The trtexec command line that builds the engine build_engine builds (same profiles, precision, pool)."""
    inputs = onnx_inputs(onnx_path)
    least, opt, most = profile_people(max_people, opt_people)
    args = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
            f"--minShapes={shapes_arg(inputs, least)}", f"--optShapes={shapes_arg(inputs, opt)}",
            f"--maxShapes={shapes_arg(inputs, most)}",
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
    try:
        command = trtexec_command(args.model, plain_engine, args.precision, args.max_people, args.opt_people)
    except ValueError as exc:  # not a lifter model: its inputs are not window [and image]
        parser.error(str(exc))
    print("  " + command)
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
