"""Lifter backend choice: the fastest one that runs on this machine, never none.

"auto" tries, in order, TensorRT -> ONNX Runtime CUDA -> torch CUDA (graphs) -> ONNX Runtime CPU, takes the first
that starts, and logs one line naming it and why each earlier one was skipped. A backend named explicitly
("tensorrt", "onnxruntime_cuda", "torch_cuda") runs or raises LifterError saying why it cannot.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pose3d_ros.lift.engine_cache import EngineCache, default_engine_dir
from pose3d_ros.lift.runtime import LifterError, LifterRuntime, OnnxLifter


def log_stderr(message: str) -> None:
    print(f"[pose3d_ros.lift] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class LifterRequest:
    """What a backend factory needs. model_path: the .onnx; the torch backend reads the .pt beside it."""

    model_path: Path
    num_threads: int = 1
    max_people: int = 8  # TensorRT's profile and CUDA graphs cover 1..max_people; more people run in chunks
    precision: str = "fp16"  # TensorRT only: fp16, fp32 or int8
    engine_dir: Path | None = None  # TensorRT engine cache; None = ~/.cache/pose3d_ros/engines
    log: Callable[[str], None] = log_stderr


def _tensorrt(req: LifterRequest) -> LifterRuntime:
    try:
        from pose3d_ros.lift.tensorrt_backend import load_tensorrt_lifter
    except ImportError as exc:
        raise LifterError(f"not installed ({type(exc).__name__}: {exc})") from exc
    cache = EngineCache(req.engine_dir or default_engine_dir(), log=req.log)
    return load_tensorrt_lifter(req.model_path, req.precision, req.max_people, cache, req.log)


def _onnxruntime_cuda(req: LifterRequest) -> LifterRuntime:
    from pose3d_ros.lift.onnx_cuda_backend import OnnxCudaLifter

    return OnnxCudaLifter(req.model_path, req.num_threads)


def _torch_cuda(req: LifterRequest) -> LifterRuntime:
    try:
        from pose3d_ros.lift.torch_cuda_backend import TorchCudaLifter
    except ImportError as exc:
        raise LifterError(f"not installed ({type(exc).__name__}: {exc})") from exc
    return TorchCudaLifter(req.model_path.with_suffix(".pt"), req.num_threads, req.max_people)


def _onnxruntime(req: LifterRequest) -> LifterRuntime:
    return OnnxLifter(req.model_path, req.num_threads)


Factory = Callable[[LifterRequest], LifterRuntime]
AUTO_CHAIN: tuple[tuple[str, Factory], ...] = (
    ("tensorrt", _tensorrt),
    ("onnxruntime_cuda", _onnxruntime_cuda),
    ("torch_cuda", _torch_cuda),
    ("onnxruntime", _onnxruntime),
)


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, LifterError) else f"{type(exc).__name__}: {exc}"


def _request(model_path: str | Path, num_threads: int, max_people: int, precision: str,
             engine_dir: str | Path | None, log: Callable[[str], None]) -> LifterRequest:
    path = Path(model_path).with_suffix(".onnx")
    if not path.is_file():
        raise LifterError(f"lifter model file '{path}' not found; expected a .onnx file (with its .pt beside it "
                          "for torch_cuda) from pose3d_ros.lift.export")
    engine_path = None if engine_dir is None else Path(engine_dir)
    return LifterRequest(path, num_threads, max_people, precision, engine_path, log)


def make_lifter_auto(model_path: str | Path, num_threads: int = 1, max_people: int = 8, precision: str = "fp16",
                     engine_dir: str | Path | None = None, log: Callable[[str], None] = log_stderr,
                     chain: Sequence[tuple[str, Factory]] = AUTO_CHAIN) -> tuple[LifterRuntime, str]:
    """The first backend of ``chain`` that starts for the model at ``model_path``, and its name.

    Logs one line: the choice and, for each backend skipped, why. Raises LifterError listing every reason
    when none starts (a missing or bad model file).
    """
    req = _request(model_path, num_threads, max_people, precision, engine_dir, log)
    skipped = []
    for name, factory in chain:
        try:
            lifter = factory(req)
        except Exception as exc:  # any failure, not only a missing library, moves on: the user still gets 3D
            skipped.append(f"{name}: {_reason(exc)}")
            continue
        log(f"lifter backend: {name}" + (f" (skipped {'; '.join(skipped)})" if skipped else ""))
        return lifter, name
    raise LifterError(f"no lifter backend can run '{req.model_path}': {'; '.join(skipped)}")


def make_accelerated_lifter(backend: str, model_path: str | Path, num_threads: int = 1, max_people: int = 8,
                            precision: str = "fp16", engine_dir: str | Path | None = None,
                            log: Callable[[str], None] = log_stderr) -> LifterRuntime:
    """"auto" (see make_lifter_auto) or one GPU backend by name; LifterError names it and why it cannot run."""
    if backend == "auto":
        return make_lifter_auto(model_path, num_threads, max_people, precision, engine_dir, log)[0]
    factories = {name: factory for name, factory in AUTO_CHAIN if name != "onnxruntime"}
    if backend not in factories:
        raise LifterError(f"lifter backend '{backend}' unknown here; expected auto or one of {', '.join(factories)}")
    req = _request(model_path, num_threads, max_people, precision, engine_dir, log)
    try:
        return factories[backend](req)
    except Exception as exc:  # the user asked for this backend: say why it cannot run, do not fall back
        raise LifterError(f"lifter backend '{backend}' cannot run: {_reason(exc)}") from exc
