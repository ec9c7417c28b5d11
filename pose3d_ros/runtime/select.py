"""Backend choice: a named runtime for an ONNX network, or ``auto``, the fastest that runs on this machine.

``auto`` tries, in order, TensorRT -> ONNX Runtime CUDA -> torch CUDA (graphs; only with a ``torch_module``)
-> ONNX Runtime CPU, takes the first that starts, and logs one line naming it and why each earlier one was
skipped. A backend named explicitly runs or raises InferenceError saying why it cannot: no fallback.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pose3d_ros.runtime.engine_cache import EngineCache, default_engine_dir
from pose3d_ros.runtime.onnx_model import read_onnx
from pose3d_ros.runtime.onnxruntime_session import OnnxRuntimeSession
from pose3d_ros.runtime.session import OPT_BATCH, InferenceError, Session

BACKENDS = ("auto", "tensorrt", "onnxruntime_cuda", "torch_cuda", "onnxruntime")


def log_stderr(message: str) -> None:
    print(f"[pose3d_ros.runtime] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class SessionRequest:
    """What a backend factory needs; see open_session."""

    onnx_path: Path
    num_threads: int = 1
    max_batch: int = 8
    precision: str = "fp16"
    engine_dir: Path | None = None
    opt_batch: int = OPT_BATCH
    log: Callable[[str], None] = log_stderr
    torch_module: Callable[[], Any] | None = None
    calibration: Any = None


def _tensorrt(req: SessionRequest) -> Session:
    try:
        from pose3d_ros.runtime.tensorrt_session import open_tensorrt
    except ImportError as exc:
        raise InferenceError(f"not installed ({type(exc).__name__}: {exc})") from exc
    cache = EngineCache(req.engine_dir or default_engine_dir(), log=req.log)
    return open_tensorrt(req.onnx_path, req.precision, req.max_batch, cache, req.log, req.calibration, req.opt_batch)


def _onnxruntime_cuda(req: SessionRequest) -> Session:
    return OnnxRuntimeSession(req.onnx_path, req.num_threads, cuda=True)


def _torch_cuda(req: SessionRequest) -> Session:
    if req.torch_module is None:
        raise InferenceError("no torch module given (torch_module=...): an ONNX file alone cannot make one")
    try:
        from pose3d_ros.runtime.cuda_graphs import CudaGraphSession, cuda_unavailable
    except ImportError as exc:
        raise InferenceError(f"not installed ({type(exc).__name__}: {exc})") from exc
    reason = cuda_unavailable()
    if reason is not None:  # before making the module, which may read a checkpoint
        raise InferenceError(reason)
    model = read_onnx(req.onnx_path)
    return CudaGraphSession(req.torch_module(), model.inputs, model.output_names, req.max_batch, model.metadata)


def _onnxruntime(req: SessionRequest) -> Session:
    return OnnxRuntimeSession(req.onnx_path, req.num_threads)


Factory = Callable[[SessionRequest], Session]
AUTO_CHAIN: tuple[tuple[str, Factory], ...] = (
    ("tensorrt", _tensorrt),
    ("onnxruntime_cuda", _onnxruntime_cuda),
    ("torch_cuda", _torch_cuda),
    ("onnxruntime", _onnxruntime),
)


def _reason(exc: Exception) -> str:
    return str(exc) if isinstance(exc, InferenceError) else f"{type(exc).__name__}: {exc}"


def open_session(backend: str, onnx_path: str | Path, *, num_threads: int = 1, max_batch: int = 8,
                 precision: str = "fp16", engine_dir: str | Path | None = None, opt_batch: int = OPT_BATCH,
                 log: Callable[[str], None] = log_stderr, torch_module: Callable[[], Any] | None = None,
                 calibration: Any = None, chain: Sequence[tuple[str, Factory]] = AUTO_CHAIN) -> Session:
    """A Session running the ONNX network at ``onnx_path`` on ``backend`` (one of BACKENDS).

    num_threads: ONNX Runtime's intra-op threads. max_batch: TensorRT's profile and the CUDA graphs cover batches
    1..max_batch, larger ones run in chunks; opt_batch: the batch TensorRT tunes for. precision: TensorRT's
    fp16, fp32 or int8 (with ``calibration``, see tensorrt_session.Calibration). engine_dir: TensorRT's engine
    cache (None: ~/.cache/pose3d_ros/engines). torch_module: a callable returning the network as an
    ``nn.Module`` taking the inputs in the file's order, for torch_cuda. ``auto`` logs its choice with ``log``.
    Raises InferenceError saying why (for ``auto``: every backend's reason) when no session can be made.
    """
    path = Path(onnx_path)
    if backend not in BACKENDS:
        raise InferenceError(f"backend '{backend}' unknown; expected one of {', '.join(BACKENDS)}")
    if not path.is_file():
        raise InferenceError(f"model file '{path}' not found; expected an ONNX file")
    req = SessionRequest(path, num_threads, max_batch, precision, None if engine_dir is None else Path(engine_dir),
                         opt_batch, log, torch_module, calibration)
    if backend != "auto":
        factory = dict(AUTO_CHAIN)[backend]
        try:
            return factory(req)
        except Exception as exc:  # the user asked for this backend: say why it cannot run, do not fall back
            raise InferenceError(f"backend '{backend}' cannot run '{path}': {_reason(exc)}") from exc
    skipped = []
    for name, factory in chain:
        try:
            session = factory(req)
        except Exception as exc:  # any failure, not only a missing library, moves on: the network still runs
            skipped.append(f"{name}: {_reason(exc)}")
            continue
        log(f"{path.name} runs on {name}" + (f" (skipped {'; '.join(skipped)})" if skipped else ""))
        return session
    raise InferenceError(f"no backend can run '{path}': {'; '.join(skipped)}")
