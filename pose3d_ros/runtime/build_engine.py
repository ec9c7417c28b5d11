"""Build a TensorRT engine ahead of time (e.g. on the robot during install), into the engine cache sessions read.

    python -m pose3d_ros.runtime.build_engine --model pose3d_ros/weights/causal_liu_rf81.onnx \
        --precision fp16 --max-batch 8

Any ONNX network whose inputs share a batch dimension 0. Prints the equivalent trtexec command line, then
(where TensorRT and a GPU are present) the cache key and the engine's path, building it unless the cache already
holds it. Exit status 2 when TensorRT is unavailable. INT8 needs calibration batches: build it from Python with
``open_tensorrt(..., calibration=...)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from pose3d_ros.runtime.engine_cache import (
    PRECISIONS,
    EngineCache,
    default_engine_dir,
)
from pose3d_ros.runtime.onnx_model import read_onnx
from pose3d_ros.runtime.session import OPT_BATCH, InferenceError, batch_profile


def shapes_arg(inputs: Mapping[str, tuple[int, ...]], batch: int) -> str:
    """trtexec's shape list for a batch of ``batch``: "window:2x81x17x3,image:2x3x64x64"."""
    return ",".join(f"{name}:{'x'.join(map(str, (batch, *shape)))}" for name, shape in inputs.items())


def trtexec_command(onnx_path: Path, engine_path: Path, precision: str, max_batch: int, opt_batch: int,
                    timing_cache: Path | None = None, workspace_mib: int = 256) -> str:
    """The trtexec command line that builds the engine build_engine builds (same profile, precision, pool).

    Raises InferenceError when the file cannot be read or its inputs share no batch dimension."""
    model = read_onnx(onnx_path)
    least, opt, most = batch_profile(model.max_batch or max_batch, opt_batch)
    args = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine_path}",
            f"--minShapes={shapes_arg(model.inputs, least)}", f"--optShapes={shapes_arg(model.inputs, opt)}",
            f"--maxShapes={shapes_arg(model.inputs, most)}",
            f"--memPoolSize=workspace:{workspace_mib}"]
    args += {"fp16": ["--fp16"], "int8": ["--fp16", "--int8"], "fp32": []}[precision]
    if timing_cache is not None:
        args.append(f"--timingCacheFile={timing_cache}")
    return shlex.join(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="ONNX file")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp16")
    parser.add_argument("--max-batch", type=int, default=8, help="largest batch per call (default 8)")
    parser.add_argument("--opt-batch", type=int, default=OPT_BATCH,
                        help=f"batch to tune kernels for (default {OPT_BATCH})")
    parser.add_argument("--engine-dir", type=Path, default=None,
                        help=f"engine cache directory (default {default_engine_dir()})")
    parser.add_argument("--keep", type=int, default=3, help="engines kept per model (default 3)")
    args = parser.parse_args(argv)
    if not args.model.is_file():
        parser.error(f"model '{args.model}' not found")
    if not 1 <= args.opt_batch <= args.max_batch:
        parser.error(f"--opt-batch {args.opt_batch}; expected 1 .. --max-batch ({args.max_batch})")

    plain_engine = Path(f"{args.model.stem}.{args.precision}.b{args.max_batch}.engine")
    print("equivalent trtexec build (an engine for trtexec --loadEngine; sessions read the cache below):")
    try:
        command = trtexec_command(args.model, plain_engine, args.precision, args.max_batch, args.opt_batch)
    except InferenceError as exc:  # unreadable, or inputs without a shared batch dimension
        parser.error(str(exc))
    print("  " + command)
    try:
        from pose3d_ros.runtime.tensorrt_session import engine_key, open_tensorrt
    except ImportError as exc:
        print(f"TensorRT unavailable here ({type(exc).__name__}: {exc}); run this on the target machine "
              "(see docs/jetson.md)", file=sys.stderr)
        return 2
    if args.precision == "int8":
        print("int8 needs calibration batches; build it from Python: open_tensorrt(..., calibration=...)",
              file=sys.stderr)
        return 2

    cache = EngineCache(args.engine_dir or default_engine_dir(), keep=args.keep)
    try:
        key = engine_key(args.model, args.precision, args.max_batch)
    except RuntimeError as exc:  # cuda-python reports a missing GPU or driver when the device is queried
        print(f"no usable CUDA GPU here ({exc}); run this on the target machine (see docs/jetson.md)",
              file=sys.stderr)
        return 2
    print(f"cache key {key.digest()}:")
    for field, value in dataclasses.asdict(key).items():
        print(f"  {field}: {value}")
    print(f"engine: {cache.engine_path(key)}")
    print(f"timing cache: {cache.timing_cache_path(key)}")
    session = open_tensorrt(args.model, args.precision, args.max_batch, cache, print, opt_batch=args.opt_batch)
    print(f"ready: {cache.engine_path(key)} ({session.engine.device_memory_size / 1e6:.1f} MB device memory)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
