"""TensorRT lifter: ONNX -> engine (built once per GPU and cached) -> inference on pre-allocated CUDA buffers.

Needs TensorRT's Python bindings (JetPack's ``python3-libnvinfer``; NVIDIA's packages on desktops) and
``cuda-python`` for the CUDA runtime (stream, device and pinned host memory), the pair NVIDIA's own TensorRT
samples use; torch is not needed. Importing this module raises ImportError, with the reason, without them.
Supports TensorRT 8.6 (JetPack 6.0) and 10.x (JetPack 6.1, 6.2, 7).

The build follows NVIDIA's samples: Builder, network from OnnxParser (explicit batch), BuilderConfig with a
workspace pool limit, one optimisation profile giving every input's people dimension 1 .. max_people (the
window, and the image crop for image models), a timing cache persisted beside the engines, FP16 by default,
FP32 or INT8 (entropy calibration) on request.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tensorrt as trt

from pose3d_ros.lift.engine_cache import (
    PRECISIONS,
    EngineCache,
    EngineKey,
    file_sha256,
    write_atomic,
)
from pose3d_ros.lift.engine_inputs import WINDOW, EngineInput, lifter_inputs, profile_people
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

# INT8 calibration data: normalised windows (P, T, 17, 3), or {input name: (P, ...) array} holding each input.
CalibrationItem = np.ndarray | Mapping[str, np.ndarray]
Calibration = Iterable[CalibrationItem] | Callable[[], Iterable[CalibrationItem]]


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


class LifterCalibrator(trt.IInt8EntropyCalibrator2):
    """INT8 entropy calibration fed with normalised lifter inputs, every network input in every batch.

    calibration: an iterable (or a callable returning one) of items, each either a (P, T, 17, 3) float32
    window array as ``normalize_window`` returns it for training-like inputs (e.g. ``pose3d_ros.data.augment.
    synthesize`` keypoints through ``normalize_window``), or a dict {input name: (P, ...) float32 array} with
    each input, e.g. {"window": ..., "image": (P, 3, S, S) crops from lift/crops.py} for an image model.
    Items are regrouped into batches of exactly ``people`` people, the calibration profile's size; a short
    last batch is dropped. The resulting scales are cached in ``cache_path``.
    """

    def __init__(self, calibration: Calibration, inputs: tuple[EngineInput, ...], people: int, cache_path: Path):
        trt.IInt8EntropyCalibrator2.__init__(self)
        self.cache_path = cache_path
        items = iter(calibration() if callable(calibration) else calibration)
        self.batches = self._regroup(items, inputs, people, np.random.default_rng(0))
        self.buffers = {inp.name: _HostDeviceBuffer(inp.shape(people)) for inp in inputs}

    @staticmethod
    def _regroup(items: Iterator[CalibrationItem], inputs: tuple[EngineInput, ...], people: int,
                 rng: np.random.Generator) -> Iterator[dict[str, np.ndarray]]:
        names = [inp.name for inp in inputs]
        pending: dict[str, list[np.ndarray]] = {name: [] for name in names}
        count = 0
        for item in items:
            arrays = {WINDOW: item} if isinstance(item, np.ndarray) else dict(item)
            if WINDOW not in arrays or set(arrays) - set(names):
                raise ValueError(f"calibration item with inputs {sorted(arrays)}; expected a window array or a "
                                 f"dict with 'window' and any of {names}")
            p = len(arrays[WINDOW])
            for inp in inputs:
                # An item without this input (an image model calibrated from windows alone) gets uniform noise
                # in [0, 1], the crops' value range: a stand-in that at least does not make the image branch's
                # INT8 ranges too narrow. Real crops (lift/crops.py) calibrate that branch better.
                array = arrays.get(inp.name)
                array = rng.random(inp.shape(p), np.float32) if array is None else np.asarray(array, np.float32)
                if array.shape != inp.shape(p):
                    raise ValueError(f"calibration {inp.name} {array.shape}; expected "
                                     f"({p}, {', '.join(map(str, inp.per_person))})")
                pending[inp.name].append(array)
            count += p
            while count >= people:
                stacked = {name: np.concatenate(parts) for name, parts in pending.items()}
                yield {name: array[:people] for name, array in stacked.items()}
                pending = {name: [array[people:]] for name, array in stacked.items()}
                count -= people

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


def build_engine(onnx_path: Path, precision: str, max_people: int, timing_cache: Path,
                 log: Callable[[str], None] = print, opt_people: int = OPT_PEOPLE,
                 calibration: Calibration | None = None, workspace_bytes: int = WORKSPACE_BYTES) -> bytes:
    """Build a serialised engine for the lifter ONNX model at ``onnx_path``.

    precision: "fp16" (default elsewhere), "fp32" or "int8" (needs ``calibration``, see LifterCalibrator; layers
    without an INT8 kernel run in FP16). Every input's people dimension ranges over 1 .. max_people, tuned for
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
    try:
        tensors = [network.get_input(i) for i in range(network.num_inputs)]
        inputs = lifter_inputs({tensor.name: tensor.shape[:] for tensor in tensors})
    except ValueError as exc:
        raise LifterError(f"'{onnx_path}' is not a lifter model for this runtime: {exc}") from exc
    people = profile_people(max_people, opt_people)
    profile = builder.create_optimization_profile()
    for inp in inputs:  # one profile, every input: the people dimension is shared by window and image
        profile.set_shape(inp.name, *(_dims(inp.shape(p)) for p in people))
    config.add_optimization_profile(profile)
    if precision in ("fp16", "int8"):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if calibration is None:
            raise LifterError("precision int8 needs calibration windows (LifterCalibrator); none were given")
        calib_profile = builder.create_optimization_profile()
        for inp in inputs:
            calib_profile.set_shape(inp.name, *[_dims(inp.shape(max_people))] * 3)
        config.set_calibration_profile(calib_profile)
        config.set_flag(trt.BuilderFlag.INT8)
        # Held here until the build ends: TensorRT calls back into it and does not own the Python object.
        calibrator = LifterCalibrator(calibration, inputs, max_people,
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
    """Runs a deserialised engine. Buffers for ``max_people`` are allocated once; more people run in chunks.

    The engine's inputs are ``window``, and ``image`` for image models (crop_size > 0); each has a pinned host
    buffer and a device buffer bound to it by name.
    """

    def __init__(self, engine_bytes: bytes, receptive_field: int, max_people: int):
        self.receptive_field = receptive_field
        self.max_people = max_people
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(engine_bytes)
        if self.engine is None:
            raise LifterError("TensorRT cannot deserialise the engine (built by another TensorRT version or GPU?)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        try:
            self.inputs = lifter_inputs({n: self.engine.get_tensor_shape(n)[:] for n in names if n not in outputs})
        except ValueError as exc:
            raise LifterError(f"engine does not fit this runtime: {exc}") from exc
        if len(outputs) != 1:
            raise LifterError(f"engine has outputs {outputs}; expected one (joints)")
        if self.inputs[0].per_person[0] != receptive_field:
            raise LifterError(f"engine window has {self.inputs[0].per_person[0]} frames; the model's metadata "
                              f"says receptive field {receptive_field}")
        self.crop_size = self.inputs[1].per_person[-1] if len(self.inputs) > 1 else 0
        self.output_name = outputs[0]
        self.output_shape: tuple[int, ...] = self.engine.get_tensor_shape(self.output_name)[1:]
        for inp in self.inputs:
            profile_max = self.engine.get_tensor_profile_shape(inp.name, 0)[2][0]
            if profile_max < max_people:
                raise LifterError(f"engine input '{inp.name}' takes at most {profile_max} people; "
                                  f"{max_people} asked for")

        self.context = self.engine.create_execution_context()
        self.stream = _cuda(cudart.cudaStreamCreate())  # cudaStream_t for cudart; TensorRT takes int(stream)
        self.input_buffers = tuple(_HostDeviceBuffer(inp.shape(max_people)) for inp in self.inputs)
        self.output = _HostDeviceBuffer((max_people, *self.output_shape))
        for inp, buffer in zip(self.inputs, self.input_buffers):
            self.context.set_tensor_address(inp.name, buffer.device_ptr)
        self.context.set_tensor_address(self.output_name, self.output.device_ptr)
        self._people = 0  # people count of the input shapes last set

    def _run(self, window: np.ndarray, crops: np.ndarray | None = None) -> np.ndarray:
        arrays = (window,) if crops is None else (window, crops)  # in self.inputs' order
        n = self.max_people
        if window.shape[0] <= n:
            return self._run_chunk(arrays)
        return np.concatenate([self._run_chunk(tuple(a[i:i + n] for a in arrays))
                               for i in range(0, window.shape[0], n)])

    def _run_chunk(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        p = arrays[0].shape[0]
        if p != self._people:
            self._people = 0  # until every input has its new shape
            for inp in self.inputs:
                if not self.context.set_input_shape(inp.name, _dims(inp.shape(p))):
                    raise RuntimeError(f"TensorRT rejected input '{inp.name}' shape {inp.shape(p)}")
            self._people = p
        h2d, d2h = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for buffer, array in zip(self.input_buffers, arrays):
            buffer.host[:p] = array
            in_bytes = buffer.nbytes // self.max_people * p
            _cuda(cudart.cudaMemcpyAsync(buffer.device_ptr, buffer.host_ptr, in_bytes, h2d, self.stream))
        if not self.context.execute_async_v3(int(self.stream)):
            raise RuntimeError("TensorRT execute_async_v3 failed; see the TensorRT messages above")
        out_bytes = self.output.nbytes // self.max_people * p
        _cuda(cudart.cudaMemcpyAsync(self.output.host_ptr, self.output.device_ptr, out_bytes, d2h, self.stream))
        _cuda(cudart.cudaStreamSynchronize(self.stream))
        return self.output.host[:p].copy()  # the caller keeps the result; the pinned buffer is reused

    def close(self) -> None:
        """Free the CUDA buffers and stream (also safe to leave to process exit)."""
        for buffer in (*self.input_buffers, self.output):
            buffer.free()
        cudart.cudaStreamDestroy(self.stream)


def engine_key(onnx_path: Path, precision: str, max_people: int) -> EngineKey:
    """The cache key for ``onnx_path`` on this machine's TensorRT and first GPU."""
    name, capability = gpu_identity()
    return EngineKey(model=onnx_path.stem, onnx_sha256=file_sha256(onnx_path), tensorrt_version=trt.__version__,
                     gpu_name=name, compute_capability=capability, precision=precision, max_people=max_people)


def load_tensorrt_lifter(onnx_path: str | Path, precision: str = "fp16", max_people: int = 8,
                         cache: EngineCache | None = None, log: Callable[[str], None] = print,
                         calibration: Calibration | None = None, opt_people: int = OPT_PEOPLE) -> TensorRTLifter:
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
