"""TensorRT sessions: ONNX -> engine (built once per GPU and cached) -> inference on pre-allocated CUDA buffers.

Needs TensorRT's Python bindings (JetPack's ``python3-libnvinfer``; NVIDIA's packages on desktops) and
``cuda-python`` for the CUDA runtime (stream, device and pinned host memory), the pair NVIDIA's own TensorRT
samples use; torch is not needed. Importing this module raises ImportError, with the reason, without them.
Supports TensorRT 8.6 (JetPack 6.0) and 10.x (JetPack 6.1, 6.2, 7).

Any ONNX network whose inputs share a batch dimension 0 (dynamic, or fixed at 1) and fix every other one. The
build follows NVIDIA's samples: Builder, network from OnnxParser (explicit batch), BuilderConfig with a workspace
pool limit, one optimisation profile giving every input's batch 1 .. max_batch, a timing cache persisted beside
the engines, FP16 by default, FP32 or INT8 (entropy calibration) on request.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tensorrt as trt

from pose3d_ros.runtime.engine_cache import (
    PRECISIONS,
    EngineCache,
    EngineKey,
    default_engine_dir,
    file_sha256,
    write_atomic,
)
from pose3d_ros.runtime.onnx_model import read_onnx
from pose3d_ros.runtime.session import (
    OPT_BATCH,
    InferenceError,
    batch_inputs,
    batch_profile,
    feed_batch,
    run_in_chunks,
)

if not hasattr(trt, "Builder"):  # tensorrt-stubs alone leave an importable, empty 'tensorrt' namespace
    raise ImportError("tensorrt has no Builder: only type stubs are installed, not TensorRT's Python bindings")

try:
    from cuda.bindings import runtime as cudart
except ImportError:  # cuda-python before 12.6 has the module at its old place
    from cuda import cudart

TRT_MAJOR = int(trt.__version__.split(".")[0])
WORKSPACE_BYTES = 256 << 20  # these networks' largest layers need a few MiB; leave the rest of a Jetson's RAM alone

# INT8 calibration data: batches {input name: (B, ...) float32 array} holding every input, or a callable that
# takes the network's inputs (name -> shape after dimension 0) and returns them.
CalibrationBatch = Mapping[str, np.ndarray]
Calibration = Iterable[CalibrationBatch] | Callable[[Mapping[str, tuple[int, ...]]], Iterable[CalibrationBatch]]


def _cuda(result: tuple) -> Any:
    """Unwrap a cuda-python call's ``(error, *values)``; raise on an error code."""
    err, *values = result
    if err != cudart.cudaError_t.cudaSuccess:
        raise RuntimeError(f"CUDA runtime call failed: {cudart.cudaGetErrorName(err)[1].decode()}")
    return values[0] if len(values) == 1 else tuple(values)


def _dims(shape: tuple[int, ...]) -> trt.Dims:
    return trt.Dims(list(shape))


def gpu_identity(device: int = 0) -> tuple[str, str]:
    """(name with SM count, compute capability "major.minor") of a CUDA device, e.g. ("Orin, 8 SMs", "8.7").

    Every Jetson Orin module reports the name "Orin"; the SM count tells an Orin Nano from an AGX Orin.
    """
    props = _cuda(cudart.cudaGetDeviceProperties(device))
    name = props.name.decode(errors="replace").rstrip("\0") if isinstance(props.name, bytes) else str(props.name)
    return f"{name}, {props.multiProcessorCount} SMs", f"{props.major}.{props.minor}"


class _HostDeviceBuffer:
    """An array of ``shape`` (batch first) in pinned host memory and a device allocation of the same size."""

    def __init__(self, shape: tuple[int, ...], dtype: Any = np.float32):
        self.nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        self.sample_bytes = self.nbytes // shape[0]
        self.host_ptr = int(_cuda(cudart.cudaMallocHost(self.nbytes)))
        self.device_ptr = int(_cuda(cudart.cudaMalloc(self.nbytes)))
        raw = (ctypes.c_byte * self.nbytes).from_address(self.host_ptr)
        self.host = np.ctypeslib.as_array(raw).view(dtype).reshape(shape)

    def free(self) -> None:
        cudart.cudaFreeHost(self.host_ptr)
        cudart.cudaFree(self.device_ptr)


def _progress_log(log: Callable[[str], None]) -> trt.IProgressMonitor | None:
    """An IProgressMonitor logging each top-level build phase (TensorRT >= 10), else None."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class PhaseLog(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self.started: dict[str, float] = {}

        def phase_start(self, phase_name: str, parent_phase: str, num_steps: int) -> None:
            if parent_phase is None:
                self.started[phase_name] = time.monotonic()
                log(f"tensorrt build: {phase_name} ({num_steps} steps)")

        def phase_finish(self, phase_name: str) -> None:
            if phase_name in self.started:
                log(f"tensorrt build: {phase_name} done in {time.monotonic() - self.started.pop(phase_name):.0f} s")

        def step_complete(self, phase_name: str, step: int) -> bool:
            return True

    return PhaseLog()


class EntropyCalibrator(trt.IInt8EntropyCalibrator2):
    """INT8 entropy calibration fed with batches of every network input (see ``Calibration``).

    Batches are regrouped into exactly ``batch`` samples, the calibration profile's size; a short last batch is
    dropped. The resulting scales are cached in ``cache_path``.
    """

    def __init__(self, calibration: Calibration, inputs: Mapping[str, tuple[int, ...]], batch: int,
                 cache_path: Path):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.cache_path = cache_path
        items = iter(calibration(inputs) if callable(calibration) else calibration)
        self.batches = self._regroup(items, inputs, batch)
        self.buffers = {name: _HostDeviceBuffer((batch, *shape)) for name, shape in inputs.items()}

    @staticmethod
    def _regroup(items: Iterator[CalibrationBatch], inputs: Mapping[str, tuple[int, ...]],
                 batch: int) -> Iterator[dict[str, np.ndarray]]:
        pending: dict[str, list[np.ndarray]] = {name: [] for name in inputs}
        count = 0
        for item in items:
            try:
                count += feed_batch(item, inputs)
            except ValueError as exc:
                raise ValueError(f"calibration batch: {exc}") from exc
            for name in inputs:
                pending[name].append(np.asarray(item[name], np.float32))
            while count >= batch:
                stacked = {name: np.concatenate(parts) for name, parts in pending.items()}
                yield {name: array[:batch] for name, array in stacked.items()}
                pending = {name: [array[batch:]] for name, array in stacked.items()}
                count -= batch

    def get_batch_size(self) -> int:
        return 1  # explicit-batch networks take the batch from the calibration profile's shape, as polygraphy does

    def get_batch(self, names: list[str]) -> list[int]:
        """Device pointers to the next batch of each input in ``names``' order; [] when calibration is done."""
        batch = next(self.batches, None)
        if batch is None:
            return []
        for name in names:
            buffer = self.buffers[name]
            buffer.host[...] = batch[name]
            _cuda(cudart.cudaMemcpy(buffer.device_ptr, buffer.host_ptr, buffer.nbytes,
                                    cudart.cudaMemcpyKind.cudaMemcpyHostToDevice))
        return [self.buffers[name].device_ptr for name in names]

    def read_calibration_cache(self) -> bytes:
        # TensorRT calibrates when this returns None (the stub's own docstring example), not b"".
        return self.cache_path.read_bytes() if self.cache_path.exists() else None  # type: ignore[return-value]

    def write_calibration_cache(self, cache: memoryview) -> None:
        write_atomic(self.cache_path, bytes(cache))


def build_engine(onnx_path: Path, precision: str, max_batch: int, timing_cache: Path,
                 log: Callable[[str], None] = print, opt_batch: int = OPT_BATCH,
                 calibration: Calibration | None = None, workspace_bytes: int = WORKSPACE_BYTES) -> bytes:
    """Build a serialised engine for the ONNX network at ``onnx_path``.

    precision: "fp16", "fp32" or "int8" (needs ``calibration``; layers without an INT8 kernel run in FP16). Every
    input's batch dimension ranges over 1 .. max_batch (1 when the file fixes it at 1), tuned for ``opt_batch``.
    ``timing_cache`` is read if present and rewritten after the build. Raises InferenceError.
    """
    if precision not in PRECISIONS:
        raise InferenceError(f"precision '{precision}' unknown; expected one of {', '.join(PRECISIONS)}")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    # Explicit batch is the only mode from TensorRT 10 on, where the flag is deprecated; 8.x must be told.
    explicit_batch = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(0 if TRT_MAJOR >= 10 else explicit_batch)
    parser = trt.OnnxParser(network, logger)
    started = time.monotonic()
    log(f"tensorrt build: parsing '{onnx_path}' (TensorRT {trt.__version__}, {precision}, batch 1..{max_batch})")
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise InferenceError(f"TensorRT cannot parse '{onnx_path}': {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    tensors = [network.get_input(i) for i in range(network.num_inputs)]
    inputs, fixed_batch = batch_inputs({tensor.name: tensor.shape[:] for tensor in tensors}, onnx_path)
    batches = batch_profile(fixed_batch or max_batch, opt_batch)
    profile = builder.create_optimization_profile()
    for name, shape in inputs.items():  # one profile, every input: the batch dimension is shared
        profile.set_shape(name, *(_dims((b, *shape)) for b in batches))
    config.add_optimization_profile(profile)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if calibration is None:
            raise InferenceError("precision int8 needs calibration batches (EntropyCalibrator); none were given")
        calib_profile = builder.create_optimization_profile()
        for name, shape in inputs.items():
            calib_profile.set_shape(name, *[_dims((batches[2], *shape))] * 3)
        config.set_calibration_profile(calib_profile)
        config.set_flag(trt.BuilderFlag.INT8)
        # Held here until the build ends: TensorRT calls back into it and does not own the Python object.
        calibrator = EntropyCalibrator(calibration, inputs, batches[2],
                                       timing_cache.with_name(f"{onnx_path.stem}.int8.calib"))
        config.int8_calibrator = calibrator

    cache = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.exists() else b"")
    config.set_timing_cache(cache, ignore_mismatch=False)
    monitor = _progress_log(log)
    if monitor is not None:
        config.progress_monitor = monitor
    else:
        log("tensorrt build: optimising (TensorRT < 10 reports no progress; minutes on a Jetson)")
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise InferenceError(f"TensorRT could not build an engine from '{onnx_path}' ({precision}); "
                             "see the TensorRT messages above")
    write_atomic(timing_cache, bytes(config.get_timing_cache().serialize()))
    log(f"tensorrt build: done in {time.monotonic() - started:.0f} s")
    return bytes(serialized)


class TensorRTSession:
    """Runs a deserialised engine. Pinned host and device buffers for ``max_batch`` samples of every input and
    output are allocated once; larger batches run in chunks."""

    backend = "tensorrt"

    def __init__(self, engine_bytes: bytes, max_batch: int, metadata: dict[str, str] | None = None):
        self.metadata = dict(metadata or {})
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise InferenceError("TensorRT cannot deserialise the engine (built by another TensorRT version or GPU?)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.output_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        shapes = {n: self.engine.get_tensor_shape(n)[:] for n in names if n not in self.output_names}
        self.inputs, fixed_batch = batch_inputs(shapes, "engine")
        self.max_batch = fixed_batch or max_batch
        for name in self.inputs if fixed_batch is None else ():
            most = self.engine.get_tensor_profile_shape(name, 0)[2][0]
            if most < max_batch:
                raise InferenceError(f"engine input '{name}' takes batches of at most {most}; {max_batch} asked for")
        outputs: dict[str, tuple[int, ...]] = {}
        for name in self.output_names:
            shape = self.engine.get_tensor_shape(name)[:]
            if min(shape[1:], default=0) < 0:
                raise InferenceError(f"engine output '{name}' has shape {tuple(shape)}; expected fixed sizes after "
                                     "the batch dimension 0")
            outputs[name] = tuple(shape[1:])

        self.context = self.engine.create_execution_context()
        self.stream = _cuda(cudart.cudaStreamCreate())  # cudaStream_t for cudart; TensorRT takes int(stream)
        dtypes = {name: trt.nptype(self.engine.get_tensor_dtype(name)) for name in names}
        self.buffers = {name: _HostDeviceBuffer((self.max_batch, *shape), dtypes[name])
                        for name, shape in (*self.inputs.items(), *outputs.items())}
        for name, buffer in self.buffers.items():
            self.context.set_tensor_address(name, buffer.device_ptr)
        self._batch = 0  # batch size of the input shapes last set

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        batch = feed_batch(feeds, self.inputs)
        return run_in_chunks(feeds, batch, self.max_batch, self._run_chunk)

    def _run_chunk(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        batch = next(iter(feeds.values())).shape[0]
        if batch != self._batch:
            self._batch = 0  # until every input has its new shape
            for name, shape in self.inputs.items():
                if not self.context.set_input_shape(name, _dims((batch, *shape))):
                    raise InferenceError(f"TensorRT rejected input '{name}' shape {(batch, *shape)}")
            self._batch = batch
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for name, array in feeds.items():
            buffer = self.buffers[name]
            buffer.host[:batch] = array
            _cuda(cudart.cudaMemcpyAsync(buffer.device_ptr, buffer.host_ptr, buffer.sample_bytes * batch, h2d,
                                         self.stream))
        if not self.context.execute_async_v3(int(self.stream)):
            raise InferenceError("TensorRT execute_async_v3 failed; see the TensorRT messages above")
        for name in self.output_names:
            buffer = self.buffers[name]
            _cuda(cudart.cudaMemcpyAsync(buffer.host_ptr, buffer.device_ptr, buffer.sample_bytes * batch, d2h,
                                         self.stream))
        _cuda(cudart.cudaStreamSynchronize(self.stream))
        # The caller keeps the results; the pinned buffers are reused.
        return [self.buffers[name].host[:batch].copy() for name in self.output_names]

    def close(self) -> None:
        """Free the CUDA buffers and stream (also safe to leave to process exit)."""
        for buffer in self.buffers.values():
            buffer.free()
        self.buffers = {}
        cudart.cudaStreamDestroy(self.stream)


def engine_key(onnx_path: Path, precision: str, max_batch: int) -> EngineKey:
    """The cache key for ``onnx_path`` on this machine's TensorRT and first GPU."""
    name, capability = gpu_identity()
    return EngineKey(model=onnx_path.stem, onnx_sha256=file_sha256(onnx_path), tensorrt_version=trt.__version__,
                     gpu_name=name, compute_capability=capability, precision=precision, max_batch=max_batch)


def open_tensorrt(onnx_path: str | Path, precision: str = "fp16", max_batch: int = 8, cache: EngineCache | None = None,
                  log: Callable[[str], None] = print, calibration: Calibration | None = None,
                  opt_batch: int = OPT_BATCH) -> TensorRTSession:
    """A TensorRTSession for the ONNX network at ``onnx_path``, its engine taken from ``cache`` or built into it.

    cache: default ``EngineCache(default_engine_dir())``. The session's metadata is the file's metadata_props.
    Raises InferenceError for an unreadable or unfit file, or a failed build.
    """
    path = Path(onnx_path)
    model = read_onnx(path)  # unfit inputs fail here, before a build of minutes
    cache = cache or EngineCache(default_engine_dir(), log=log)
    key = engine_key(path, precision, max_batch)
    return cache.get_or_build(
        key,
        build=lambda: build_engine(path, precision, max_batch, cache.timing_cache_path(key), log,
                                   opt_batch=opt_batch, calibration=calibration),
        load=lambda engine: TensorRTSession(engine, max_batch, model.metadata),
    )
