"""TensorRT lifter: ONNX -> engine (built once per GPU and cached) -> inference on pre-allocated CUDA buffers.

Needs TensorRT's Python bindings (JetPack's ``python3-libnvinfer``; NVIDIA's packages on desktops) and
``cuda-python`` for the CUDA runtime (stream, device and pinned host memory), the pair NVIDIA's own TensorRT
samples use; torch is not needed. Importing this module raises ImportError, with the reason, without them.
Supports TensorRT 8.6 (JetPack 6.0) and 10.x (JetPack 6.1, 6.2, 7).

The build follows NVIDIA's samples: Builder, network from OnnxParser (explicit batch), BuilderConfig with a
workspace pool limit, an optimisation profile over the people dimension (1 .. max_people), a timing cache
persisted beside the engines, FP16 by default, FP32 or INT8 (entropy calibration) on request.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tensorrt as trt

from pose3d_ros.lift.engine_cache import PRECISIONS, EngineCache, EngineKey, file_sha256, write_atomic
from pose3d_ros.lift.runtime import LifterError, _check_metadata, _Lifter

if not hasattr(trt, "Builder"):  # tensorrt-stubs alone leave an importable, empty 'tensorrt' namespace
    raise ImportError("tensorrt has no Builder: only type stubs are installed, not TensorRT's Python bindings")

try:
    from cuda.bindings import runtime as cudart
except ImportError:  # cuda-python before 12.6 has the module at its old place
    from cuda import cudart

TRT_MAJOR = int(trt.__version__.split(".")[0])
WORKSPACE_BYTES = 256 << 20  # the lifter's largest layer needs a few MiB; leave the rest of a Jetson's RAM alone
OPT_PEOPLE = 2  # the people count TensorRT tunes kernels for: a robot usually sees one or two people


def _cuda(result: tuple) -> Any:
    """Unwrap a cuda-python call's ``(error, *values)``; raise on an error code."""
    err, *values = result
    if err != cudart.cudaError_t.cudaSuccess:
        raise RuntimeError(f"CUDA runtime call failed: {cudart.cudaGetErrorName(err)[1].decode()}")
    return values[0] if len(values) == 1 else tuple(values)


def _dims(people: int, per_person: tuple[int, ...]) -> trt.Dims:
    return trt.Dims([people, *per_person])


def gpu_identity(device: int = 0) -> tuple[str, str]:
    """(name with SM count, compute capability "major.minor") of a CUDA device, e.g. ("Orin, 8 SMs", "8.7").

    Every Jetson Orin module reports the name "Orin"; the SM count tells an Orin Nano from an AGX Orin.
    """
    props = _cuda(cudart.cudaGetDeviceProperties(device))
    name = props.name.decode(errors="replace").rstrip("\0") if isinstance(props.name, bytes) else str(props.name)
    return f"{name}, {props.multiProcessorCount} SMs", f"{props.major}.{props.minor}"


class _HostDeviceBuffer:
    """A float32 array in pinned host memory and a device allocation of the same size."""

    def __init__(self, shape: tuple[int, ...]):
        self.nbytes = int(np.prod(shape)) * 4
        self.host_ptr = int(_cuda(cudart.cudaMallocHost(self.nbytes)))
        self.device_ptr = int(_cuda(cudart.cudaMalloc(self.nbytes)))
        pointer = ctypes.cast(self.host_ptr, ctypes.POINTER(ctypes.c_float))
        self.host = np.ctypeslib.as_array(pointer, shape)

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


class WindowCalibrator(trt.IInt8EntropyCalibrator2):
    """INT8 entropy calibration fed with normalised lifter windows.

    windows: an iterable (or a callable returning one) of (P, T, 17, C) float32 arrays, as ``normalize_window``
    returns them for training-like inputs, e.g. ``pose3d_ros.data.augment.synthesize`` keypoints through
    ``normalize_window``. They are regrouped into batches of exactly ``people`` windows, the calibration
    profile's size; a short last batch is dropped. The resulting scales are cached in ``cache_path``.
    """

    def __init__(self, windows: Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]],
                 window_shape: tuple[int, ...], people: int, cache_path: Path):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.cache_path = cache_path
        self.batches = self._regroup(iter(windows() if callable(windows) else windows), window_shape, people)
        self.buffer = _HostDeviceBuffer((people, *window_shape))

    @staticmethod
    def _regroup(windows: Iterator[np.ndarray], window_shape: tuple[int, ...],
                 people: int) -> Iterator[np.ndarray]:
        pending: list[np.ndarray] = []
        count = 0
        for w in windows:
            if w.shape[1:] != window_shape:
                raise ValueError(f"calibration window {w.shape}; expected (P, {', '.join(map(str, window_shape))})")
            pending.append(np.asarray(w, np.float32))
            count += w.shape[0]
            while count >= people:
                stacked = np.concatenate(pending)
                yield stacked[:people]
                pending, count = [stacked[people:]], count - people

    def get_batch_size(self) -> int:
        return 1  # explicit-batch networks take the batch from the calibration profile's shape, as polygraphy does

    def get_batch(self, names: list[str]) -> list[int]:
        batch = next(self.batches, None)
        if batch is None:
            return []
        self.buffer.host[...] = batch
        _cuda(cudart.cudaMemcpy(self.buffer.device_ptr, self.buffer.host_ptr, self.buffer.nbytes,
                                cudart.cudaMemcpyKind.cudaMemcpyHostToDevice))
        return [self.buffer.device_ptr]

    def read_calibration_cache(self) -> bytes:
        # TensorRT calibrates when this returns None (the stub's own docstring example), not b"".
        return self.cache_path.read_bytes() if self.cache_path.exists() else None  # type: ignore[return-value]

    def write_calibration_cache(self, cache: memoryview) -> None:
        write_atomic(self.cache_path, bytes(cache))


def build_engine(onnx_path: Path, precision: str, max_people: int, timing_cache: Path,
                 log: Callable[[str], None] = print, opt_people: int = OPT_PEOPLE,
                 calibration: Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]] | None = None,
                 workspace_bytes: int = WORKSPACE_BYTES) -> bytes:
    """Build a serialised engine for the lifter ONNX model at ``onnx_path``.

    precision: "fp16" (default elsewhere), "fp32" or "int8" (needs ``calibration``, see WindowCalibrator; layers
    without an INT8 kernel run in FP16). The people dimension ranges over 1 .. max_people, tuned for
    ``opt_people``. ``timing_cache`` is read if present and rewritten after the build. Raises LifterError.
    """
    if precision not in PRECISIONS:
        raise LifterError(f"precision '{precision}' unknown; expected one of {', '.join(PRECISIONS)}")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    # Explicit batch is the only mode from TensorRT 10 on, where the flag is deprecated; 8.x must be told.
    explicit_batch = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(0 if TRT_MAJOR >= 10 else explicit_batch)
    parser = trt.OnnxParser(network, logger)
    started = time.monotonic()
    log(f"tensorrt build: parsing '{onnx_path}' (TensorRT {trt.__version__}, {precision}, 1..{max_people} people)")
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise LifterError(f"TensorRT cannot parse '{onnx_path}': {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    window = network.get_input(0)
    per_person: tuple[int, ...] = window.shape[1:]
    opt_people = min(max(opt_people, 1), max_people)
    profile = builder.create_optimization_profile()
    profile.set_shape(window.name, _dims(1, per_person), _dims(opt_people, per_person), _dims(max_people, per_person))
    config.add_optimization_profile(profile)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if calibration is None:
            raise LifterError("precision int8 needs calibration windows (WindowCalibrator); none were given")
        calib_profile = builder.create_optimization_profile()
        calib_profile.set_shape(window.name, *[_dims(max_people, per_person)] * 3)
        config.set_calibration_profile(calib_profile)
        config.set_flag(trt.BuilderFlag.INT8)
        # Held here until the build ends: TensorRT calls back into it and does not own the Python object.
        calibrator = WindowCalibrator(calibration, per_person, max_people,
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
        raise LifterError(f"TensorRT could not build an engine from '{onnx_path}' ({precision}); "
                          "see the TensorRT messages above")
    write_atomic(timing_cache, bytes(config.get_timing_cache().serialize()))
    log(f"tensorrt build: done in {time.monotonic() - started:.0f} s")
    return bytes(serialized)


class TensorRTLifter(_Lifter):
    """Runs a deserialised engine. Buffers for ``max_people`` are allocated once; more people run in chunks."""

    def __init__(self, engine_bytes: bytes, receptive_field: int, max_people: int):
        self.receptive_field = receptive_field
        self.max_people = max_people
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise LifterError("TensorRT cannot deserialise the engine (built by another TensorRT version or GPU?)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or len(outputs) != 1:
            raise LifterError(f"engine has inputs {inputs} and outputs {outputs}; expected one of each")
        self.input_name, self.output_name = inputs[0], outputs[0]
        self.window_shape: tuple[int, ...] = self.engine.get_tensor_shape(self.input_name)[1:]
        self.output_shape: tuple[int, ...] = self.engine.get_tensor_shape(self.output_name)[1:]
        profile_max = self.engine.get_tensor_profile_shape(self.input_name, 0)[2][0]
        if profile_max < max_people:
            raise LifterError(f"engine takes at most {profile_max} people; {max_people} asked for")

        self.context = self.engine.create_execution_context()
        self.stream = _cuda(cudart.cudaStreamCreate())  # cudaStream_t for cudart; TensorRT takes int(stream)
        self.input = _HostDeviceBuffer((max_people, *self.window_shape))
        self.output = _HostDeviceBuffer((max_people, *self.output_shape))
        self.context.set_tensor_address(self.input_name, self.input.device_ptr)
        self.context.set_tensor_address(self.output_name, self.output.device_ptr)
        self._people = 0  # people count of the input shape last set

    def _run(self, window: np.ndarray) -> np.ndarray:
        if window.shape[0] <= self.max_people:
            return self._run_chunk(window)
        return np.concatenate([self._run_chunk(window[i:i + self.max_people])
                               for i in range(0, window.shape[0], self.max_people)])

    def _run_chunk(self, window: np.ndarray) -> np.ndarray:
        p = window.shape[0]
        if p != self._people:
            if not self.context.set_input_shape(self.input_name, _dims(p, self.window_shape)):
                raise RuntimeError(f"TensorRT rejected input shape {(p, *self.window_shape)}")
            self._people = p
        self.input.host[:p] = window
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        in_bytes = self.input.nbytes // self.max_people * p
        out_bytes = self.output.nbytes // self.max_people * p
        _cuda(cudart.cudaMemcpyAsync(self.input.device_ptr, self.input.host_ptr, in_bytes, h2d, self.stream))
        if not self.context.execute_async_v3(int(self.stream)):
            raise RuntimeError("TensorRT execute_async_v3 failed; see the TensorRT messages above")
        _cuda(cudart.cudaMemcpyAsync(self.output.host_ptr, self.output.device_ptr, out_bytes, d2h, self.stream))
        _cuda(cudart.cudaStreamSynchronize(self.stream))
        return self.output.host[:p].copy()  # the caller keeps the result; the pinned buffer is reused

    def close(self) -> None:
        """Free the CUDA buffers and stream (also safe to leave to process exit)."""
        self.input.free()
        self.output.free()
        cudart.cudaStreamDestroy(self.stream)


def engine_key(onnx_path: Path, precision: str, max_people: int) -> EngineKey:
    """The cache key for ``onnx_path`` on this machine's TensorRT and first GPU."""
    name, capability = gpu_identity()
    return EngineKey(model=onnx_path.stem, onnx_sha256=file_sha256(onnx_path), tensorrt_version=trt.__version__,
                     gpu_name=name, compute_capability=capability, precision=precision, max_people=max_people)


def load_tensorrt_lifter(onnx_path: str | Path, precision: str = "fp16", max_people: int = 8,
                         cache: EngineCache | None = None, log: Callable[[str], None] = print,
                         calibration: Iterable[np.ndarray] | Callable[[], Iterable[np.ndarray]] | None = None,
                         opt_people: int = OPT_PEOPLE) -> TensorRTLifter:
    """A TensorRTLifter for the ONNX model at ``onnx_path``, its engine taken from ``cache`` or built into it.

    cache: default ``EngineCache(default_engine_dir())``. Raises LifterError for a bad model or failed build.
    """
    import onnx

    from pose3d_ros.lift.engine_cache import default_engine_dir

    path = Path(onnx_path)
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, OSError, ... for an unreadable file
        raise LifterError(f"cannot read ONNX model '{path}': {exc}") from exc
    receptive_field = _check_metadata({p.key: p.value for p in proto.metadata_props}, path)
    cache = cache or EngineCache(default_engine_dir(), log=log)
    key = engine_key(path, precision, max_people)
    return cache.get_or_build(
        key,
        build=lambda: build_engine(path, precision, max_people, cache.timing_cache_path(key), log,
                                   opt_people=opt_people, calibration=calibration),
        load=lambda engine: TensorRTLifter(engine, receptive_field, max_people),
    )
