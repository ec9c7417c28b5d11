"""TensorRT sessions: parity with ONNX Runtime and the engine cache with real engines (needs TensorRT and a GPU),
and what works everywhere: the trtexec line, build_engine's answer without TensorRT, the import error's reason,
and the session's logic (one profile over every input, buffers per input and output, shapes, chunks, INT8
calibration) against a fake TensorRT and CUDA runtime whose "engine" is ONNX Runtime on the CPU, for lifters
and for a two-output network that is no lifter.
"""

import ctypes
import hashlib
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from tiny_lifters import MODELS, ONNX_PATH, lift_args, lifter_inputs_for, model_path
from tiny_onnx import tiny_lifter_onnx, two_output_expected, two_output_feeds, two_output_onnx

import pose3d_ros.runtime
from pose3d_ros.lift import LifterError, make_lifter
from pose3d_ros.lift.lifter import SessionLifter
from pose3d_ros.runtime import InferenceError
from pose3d_ros.runtime.build_engine import main as build_engine_main
from pose3d_ros.runtime.build_engine import trtexec_command
from pose3d_ros.runtime.engine_cache import EngineCache
from pose3d_ros.runtime.onnx_model import read_onnx

MAX_BATCH = 4
TOLERANCE_M = {"fp32": 1e-4, "fp16": 1e-2}  # fp16: 10 mm on joints of ~1 m; fp32 differs in summation order


def tensorrt_import_error() -> str | None:
    try:
        trt_session = importlib.import_module("pose3d_ros.runtime.tensorrt_session")
    except ImportError as exc:
        return f"TensorRT backend unavailable ({type(exc).__name__}: {exc})"
    try:
        trt_session.gpu_identity()
    except RuntimeError as exc:
        return f"no CUDA GPU for TensorRT ({exc})"
    return None


UNAVAILABLE = tensorrt_import_error()
needs_tensorrt = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))


def test_trtexec_line_uses_the_models_input_and_batch_profile():
    line = trtexec_command(ONNX_PATH, Path("out.engine"), "fp16", max_batch=8, opt_batch=2)
    assert line == (f"trtexec --onnx={ONNX_PATH} --saveEngine=out.engine --minShapes=window:1x81x17x3 "
                    "--optShapes=window:2x81x17x3 --maxShapes=window:8x81x17x3 --memPoolSize=workspace:256 --fp16")
    assert trtexec_command(ONNX_PATH, Path("e"), "fp32", 8, 2).endswith("workspace:256")
    assert trtexec_command(ONNX_PATH, Path("e"), "int8", 8, 2, Path("t.cache")).endswith(
        "--fp16 --int8 --timingCacheFile=t.cache")


def test_trtexec_line_lists_every_input(tmp_path):
    path = tiny_lifter_onnx(tmp_path / "image_lifter.onnx", receptive_field=1, crop_size=8)
    assert read_onnx(path).inputs == {"window": (1, 17, 3), "image": (3, 8, 8)}
    line = trtexec_command(path, Path("out.engine"), "fp16", max_batch=4, opt_batch=9)  # opt clamped to 4
    assert ("--minShapes=window:1x1x17x3,image:1x3x8x8 --optShapes=window:4x1x17x3,image:4x3x8x8 "
            "--maxShapes=window:4x1x17x3,image:4x3x8x8 ") in line
    fixed = trtexec_command(two_output_onnx(tmp_path / "fixed.onnx", batch=1), Path("e"), "fp16", 8, 2)
    assert "--minShapes=pixels:1x3x4x4,anchors:1x2 --optShapes=pixels:1x3x4x4,anchors:1x2 --maxShapes=pixels:1x3" \
        in fixed  # a file that fixes the batch at 1 runs one sample per call


def test_trtexec_line_refuses_a_network_without_a_batch_dimension(tmp_path, capsys):
    path = two_output_onnx(tmp_path / "batch4.onnx", batch=4)
    with pytest.raises(InferenceError, match="batch4.onnx': input 'pixels' has a fixed batch of 4; expected a dyn"):
        trtexec_command(path, Path("e"), "fp16", 8, 2)
    with pytest.raises(SystemExit):
        build_engine_main(["--model", str(path)])
    assert "fixed batch of 4" in capsys.readouterr().err


@pytest.mark.skipif(UNAVAILABLE is None, reason="checks the machine without TensorRT")
def test_without_tensorrt_import_says_why_and_build_engine_prints_trtexec(capsys):
    assert UNAVAILABLE.startswith("TensorRT backend unavailable (") or UNAVAILABLE.startswith("no CUDA GPU")
    assert build_engine_main(["--model", str(ONNX_PATH), "--max-batch", "6"]) == 2
    out, err = capsys.readouterr()
    assert "--maxShapes=window:6x81x17x3" in out
    assert "run this on the target machine" in err


@needs_tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_tensorrt_lifter_matches_onnxruntime(tmp_path, precision):
    trt_lifter = make_lifter("tensorrt", ONNX_PATH, max_people=MAX_BATCH, precision=precision, engine_dir=tmp_path)
    reference = make_lifter("onnxruntime", ONNX_PATH)
    for people in (1, 3, MAX_BATCH, MAX_BATCH + 3):  # the last runs in two chunks
        args = lifter_inputs_for(reference, people, seed=people)
        got, want = lift_args(trt_lifter, args), lift_args(reference, args)
        assert got.shape == (people, 17, 3)
        assert np.abs(got - want).max() < TOLERANCE_M[precision], precision


@needs_tensorrt
@pytest.mark.parametrize("name", ["single_frame", "image", "image_rf9"])
def test_tensorrt_runs_single_frame_and_image_models(tmp_path, name):
    path = model_path(name, tmp_path)
    trt_lifter = make_lifter("tensorrt", path, max_people=MAX_BATCH, engine_dir=tmp_path)
    reference = make_lifter("onnxruntime", path)
    assert trt_lifter.crop_size == reference.crop_size
    for people in (1, 3, MAX_BATCH + 3):
        args = lifter_inputs_for(reference, people, seed=people)
        assert np.abs(lift_args(trt_lifter, args) - lift_args(reference, args)).max() < TOLERANCE_M["fp16"]


@needs_tensorrt
def test_tensorrt_runs_a_two_output_network(tmp_path):
    from pose3d_ros.runtime.tensorrt_session import open_tensorrt

    session = open_tensorrt(two_output_onnx(tmp_path / "two.onnx"), "fp32", MAX_BATCH, EngineCache(tmp_path))
    for batch in (1, 3, MAX_BATCH + 3):
        feeds = two_output_feeds(batch, seed=batch)
        for got, want in zip(session.run(feeds), two_output_expected(feeds)):
            np.testing.assert_allclose(got, want, atol=1e-4)
    session.close()


@needs_tensorrt
def test_tensorrt_int8_calibrates_an_image_model_from_windows_alone(tmp_path):
    path = model_path("image", tmp_path)
    reference = make_lifter("onnxruntime", path)
    rng = np.random.default_rng(0)
    calibration = [rng.normal(size=(8, 1, 17, 3)).astype(np.float32) for _ in range(8)]
    trt_lifter = make_lifter("tensorrt", path, max_people=MAX_BATCH, precision="int8", engine_dir=tmp_path,
                             calibration=calibration)
    args = lifter_inputs_for(reference, 3)
    assert np.abs(lift_args(trt_lifter, args) - lift_args(reference, args)).max() < 0.1  # INT8: coarse


@needs_tensorrt
def test_tensorrt_engine_cache_hit_miss_and_rebuild(tmp_path):
    from pose3d_ros.runtime.tensorrt_session import engine_key, open_tensorrt

    messages: list[str] = []
    cache = EngineCache(tmp_path, log=messages.append)
    feeds = {"window": np.random.default_rng(0).normal(size=(2, 81, 17, 3)).astype(np.float32)}
    first = open_tensorrt(ONNX_PATH, "fp16", MAX_BATCH, cache, log=messages.append).run(feeds)[0]
    key = engine_key(ONNX_PATH, "fp16", MAX_BATCH)
    path = cache.engine_path(key)
    assert path.is_file() and cache.timing_cache_path(key).is_file()
    assert any(m.startswith("engine cache: miss") for m in messages)

    messages.clear()
    hit = open_tensorrt(ONNX_PATH, "fp16", MAX_BATCH, cache, log=messages.append).run(feeds)[0]
    assert any(m.startswith("engine cache: hit") for m in messages) and not any("miss" in m for m in messages)
    np.testing.assert_array_equal(hit, first)

    path.write_bytes(path.read_bytes()[:1000])  # truncated
    messages.clear()
    open_tensorrt(ONNX_PATH, "fp16", MAX_BATCH, cache, log=messages.append)
    assert any(m.startswith("WARNING: engine cache: rebuilding") for m in messages)

    garbage = b"\0" * 4096  # a consistent record around bytes TensorRT cannot deserialise
    path.write_bytes(garbage)
    record = json.loads(path.with_suffix(".json").read_text())
    record.update(size=len(garbage), sha256=hashlib.sha256(garbage).hexdigest())
    path.with_suffix(".json").write_text(json.dumps(record))
    messages.clear()
    open_tensorrt(ONNX_PATH, "fp16", MAX_BATCH, cache, log=messages.append)
    assert any("does not load" in m for m in messages)


# A fake TensorRT and CUDA runtime, enough to run tensorrt_session without a GPU: "device" memory is host
# memory, the builder records its profiles and calibration batches, and the engine runs the ONNX model on
# ONNX Runtime's CPU provider, reading and writing the buffers at the addresses the session bound.

def _floats(address: int, shape: tuple[int, ...]) -> np.ndarray:
    return np.ctypeslib.as_array(ctypes.cast(address, ctypes.POINTER(ctypes.c_float)), shape)


class FakeCudart:
    class cudaError_t:
        cudaSuccess = 0

    class cudaMemcpyKind:
        cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost = 1, 2

    def __init__(self):
        self.memory: dict[int, ctypes.Array] = {}
        self.allocations = 0

    def cudaMallocHost(self, nbytes):
        buffer = ctypes.create_string_buffer(max(nbytes, 1))
        self.memory[ctypes.addressof(buffer)] = buffer
        self.allocations += 1
        return 0, ctypes.addressof(buffer)

    cudaMalloc = cudaMallocHost

    def cudaFreeHost(self, address):
        del self.memory[address]
        return (0,)

    cudaFree = cudaFreeHost

    def cudaMemcpy(self, dst, src, nbytes, kind):
        ctypes.memmove(dst, src, nbytes)
        return (0,)

    def cudaMemcpyAsync(self, dst, src, nbytes, kind, stream):
        return self.cudaMemcpy(dst, src, nbytes, kind)

    def cudaStreamCreate(self):
        return 0, 1

    def cudaStreamSynchronize(self, stream):
        return (0,)

    cudaStreamDestroy = cudaStreamSynchronize

    def cudaGetDeviceProperties(self, device):
        return 0, SimpleNamespace(name=b"Fake GPU", multiProcessorCount=8, major=8, minor=7)

    def cudaGetErrorName(self, err):
        return 0, b"cudaErrorFake"


class FakeNetwork:
    def __init__(self):
        self.inputs: list[SimpleNamespace] = []
        self.onnx_path = ""

    @property
    def num_inputs(self):
        return len(self.inputs)

    def get_input(self, index):
        return self.inputs[index]


class FakeParser:
    num_errors = 0

    def __init__(self, network, logger):
        self.network = network

    def parse_from_file(self, path):
        graph = onnx.load(path).graph
        self.network.onnx_path = path
        self.network.inputs = [SimpleNamespace(name=i.name, shape=tuple(d.dim_value or -1 for d in
                                                                        i.type.tensor_type.shape.dim))
                               for i in graph.input]
        return True


class FakeProfile:
    def __init__(self):
        self.shapes: dict[str, list[tuple[int, ...]]] = {}

    def set_shape(self, name, least, opt, most):
        self.shapes[name] = [tuple(least), tuple(opt), tuple(most)]


class FakeConfig:
    def __init__(self):
        self.profiles, self.flags, self.int8_calibrator, self.calibration_profile = [], set(), None, None

    def set_memory_pool_limit(self, pool, size):
        pass

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)

    def set_flag(self, flag):
        self.flags.add(flag)

    def set_calibration_profile(self, profile):
        self.calibration_profile = profile

    def create_timing_cache(self, data):
        return data

    def set_timing_cache(self, cache, ignore_mismatch):
        pass

    def get_timing_cache(self):
        return SimpleNamespace(serialize=lambda: b"timing")


class FakeBuilder:
    builds: list[dict] = []  # what each build was given, newest last; reset by the fixture

    def __init__(self, logger):
        pass

    def create_network(self, flags):
        return FakeNetwork()

    def create_builder_config(self):
        return FakeConfig()

    def create_optimization_profile(self):
        return FakeProfile()

    def build_serialized_network(self, network, config):
        """A plan naming the ONNX file and the profile; an INT8 build first drains the calibrator."""
        (profile,) = config.profiles
        build = {"profile": profile.shapes, "flags": config.flags, "calibration": []}
        if config.int8_calibrator is not None:
            names = [i.name for i in reversed(network.inputs)]  # the calibrator must follow the names given
            shapes = config.calibration_profile.shapes
            while pointers := config.int8_calibrator.get_batch(names):
                build["calibration"].append({n: _floats(p, shapes[n][2]).copy() for n, p in zip(names, pointers)})
        FakeBuilder.builds.append(build)
        return json.dumps({"onnx": network.onnx_path, "profile": profile.shapes}).encode()


class FakeEngine:
    def __init__(self, plan: dict):
        self.session = ort.InferenceSession(plan["onnx"], providers=["CPUExecutionProvider"])
        self.profile = plan["profile"]
        self.shapes = {t.name: tuple(-1 if isinstance(d, str) else d for d in t.shape)
                       for t in (*self.session.get_inputs(), *self.session.get_outputs())}
        self.names = list(self.shapes)
        self.device_memory_size = 0

    @property
    def num_io_tensors(self):
        return len(self.names)

    def get_tensor_name(self, index):
        return self.names[index]

    def get_tensor_mode(self, name):
        inputs = [i.name for i in self.session.get_inputs()]
        return FakeTensorIOMode.INPUT if name in inputs else FakeTensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        return self.shapes[name]

    def get_tensor_dtype(self, name):
        return "float32"

    def get_tensor_profile_shape(self, name, profile_index):
        return self.profile[name]

    def create_execution_context(self):
        return FakeContext(self)


class FakeContext:
    def __init__(self, engine: FakeEngine):
        self.engine = engine
        self.addresses: dict[str, int] = {}
        self.input_shapes: dict[str, tuple[int, ...]] = {}
        self.shape_calls: list[tuple[str, tuple[int, ...]]] = []

    def set_tensor_address(self, name, address):
        self.addresses[name] = address

    def set_input_shape(self, name, shape):
        least, _, most = self.engine.profile[name]
        self.shape_calls.append((name, tuple(shape)))
        if not all(lo <= d <= hi for lo, d, hi in zip(least, shape, most)):
            return False
        self.input_shapes[name] = tuple(shape)
        return True

    def execute_async_v3(self, stream):
        inputs = [i.name for i in self.engine.session.get_inputs()]
        assert sorted(self.input_shapes) == sorted(inputs), f"shapes set for {self.input_shapes}; inputs {inputs}"
        assert len({s[0] for s in self.input_shapes.values()}) == 1, f"batches differ: {self.input_shapes}"
        feed = {n: _floats(self.addresses[n], self.input_shapes[n]).copy() for n in inputs}
        outputs = [n for n in self.engine.names if n not in inputs]
        for name, result in zip(outputs, self.engine.session.run(outputs, feed)):
            _floats(self.addresses[name], result.shape)[...] = result
        return True


class FakeTensorIOMode:
    INPUT, OUTPUT = "input", "output"


def fake_tensorrt_module() -> ModuleType:
    trt = ModuleType("tensorrt")
    trt.__version__ = "10.3.0.30"
    trt.Builder, trt.OnnxParser, trt.TensorIOMode = FakeBuilder, FakeParser, FakeTensorIOMode
    trt.Logger = type("Logger", (), {"WARNING": 2, "__init__": lambda self, level: None})
    trt.Runtime = type("Runtime", (), {"__init__": lambda self, logger: None,
                                       "deserialize_cuda_engine": lambda self, plan: FakeEngine(json.loads(plan))})
    trt.IInt8EntropyCalibrator2 = type("IInt8EntropyCalibrator2", (), {"__init__": lambda self: None})
    trt.Dims = tuple
    trt.nptype = np.dtype
    trt.NetworkDefinitionCreationFlag = SimpleNamespace(EXPLICIT_BATCH=0)
    trt.MemoryPoolType = SimpleNamespace(WORKSPACE="workspace")
    trt.BuilderFlag = SimpleNamespace(FP16="fp16", INT8="int8")
    return trt


@pytest.fixture
def fake_backend(monkeypatch):
    """pose3d_ros.runtime.tensorrt_session imported over the fakes (``.cudart`` is the FakeCudart), then removed."""
    cudart = FakeCudart()
    cuda, bindings = ModuleType("cuda"), ModuleType("cuda.bindings")
    cuda.bindings, bindings.runtime = bindings, cudart
    for name, module in [("tensorrt", fake_tensorrt_module()), ("cuda", cuda), ("cuda.bindings", bindings),
                         ("cuda.bindings.runtime", cudart)]:
        monkeypatch.setitem(sys.modules, name, module)
    name = "pose3d_ros.runtime.tensorrt_session"
    monkeypatch.delitem(sys.modules, name, raising=False)  # a real one comes back after the test
    monkeypatch.delattr(pose3d_ros.runtime, "tensorrt_session", raising=False)
    FakeBuilder.builds = []
    yield importlib.import_module(name)
    del sys.modules[name]  # the fake-backed module must not outlive the test
    delattr(pose3d_ros.runtime, "tensorrt_session")


def fake_lifter(fake_backend, path: Path, tmp_path: Path, max_batch: int = MAX_BATCH) -> SessionLifter:
    return SessionLifter(fake_backend.open_tensorrt(path, "fp16", max_batch, EngineCache(tmp_path), log=print), path)


@pytest.mark.parametrize("name", [*MODELS, "two_output"])
def test_fake_engine_has_one_profile_over_every_input(fake_backend, tmp_path, name):
    path = two_output_onnx(tmp_path / "two.onnx") if name == "two_output" else model_path(name, tmp_path)
    session = fake_backend.open_tensorrt(path, "fp16", max_batch=4, cache=EngineCache(tmp_path), log=print)
    (build,) = FakeBuilder.builds
    assert build["flags"] == {"fp16"}
    expected = {n: [(b, *shape) for b in (1, 2, 4)] for n, shape in read_onnx(path).inputs.items()}
    assert build["profile"] == expected and list(session.inputs) == list(expected)
    assert session.metadata == read_onnx(path).metadata


@pytest.mark.parametrize("name", MODELS)
def test_fake_tensorrt_lifter_matches_onnxruntime_without_allocating_per_frame(fake_backend, tmp_path, name):
    path = model_path(name, tmp_path)
    lifter = fake_lifter(fake_backend, path, tmp_path)
    reference = make_lifter("onnxruntime", path)
    assert (lifter.receptive_field, lifter.crop_size) == (reference.receptive_field, reference.crop_size)
    allocations = fake_backend.cudart.allocations
    for people in (1, 3, MAX_BATCH, MAX_BATCH + 3, 2):  # MAX_BATCH + 3 runs in two chunks
        args = lifter_inputs_for(reference, people, seed=people)
        got = lift_args(lifter, args)
        assert got.shape == (people, 17, 3)
        np.testing.assert_allclose(got, lift_args(reference, args), atol=1e-5)
    assert fake_backend.cudart.allocations == allocations
    # A batch size sets every input's shape once, and only when it changes.
    session = lifter.session
    assert session.context.shape_calls == [(n, (b, *shape)) for b in (1, 3, 4, 3, 2)
                                           for n, shape in session.inputs.items()]
    session.close()
    assert fake_backend.cudart.memory == {}


@pytest.mark.parametrize("batch_dim, calls", [("tiles", [1, 3, 4, 3]), (1, [1])])
def test_fake_session_runs_a_two_output_network(fake_backend, tmp_path, batch_dim, calls):
    """A network that is no lifter: two inputs, two outputs, each with its own buffers; a file that fixes the
    batch at 1 runs one sample per call."""
    path = two_output_onnx(tmp_path / "two.onnx", batch=batch_dim)
    session = fake_backend.open_tensorrt(path, "fp32", MAX_BATCH, EngineCache(tmp_path), log=print)
    assert (session.output_names, session.max_batch) == (["boxes", "scores"], 4 if batch_dim == "tiles" else 1)
    assert len(session.buffers) == 4
    for batch in (1, 3, MAX_BATCH, MAX_BATCH + 3):
        feeds = two_output_feeds(batch, seed=batch)
        got = session.run(feeds)
        assert [g.shape for g in got] == [(batch, 4), (batch, 2)]
        for g, want in zip(got, two_output_expected(feeds)):
            np.testing.assert_allclose(g, want, atol=1e-5)
    assert [shape[0] for _, shape in session.context.shape_calls[::2]] == calls  # per input pair, on change
    with pytest.raises(ValueError, match=r"input 'anchors' \(3, 5\); expected \(B, 2\)"):
        session.run({**two_output_feeds(3), "anchors": np.zeros((3, 5), np.float32)})
    session.close()
    assert fake_backend.cudart.memory == {}


def test_fake_int8_calibration_feeds_every_input(fake_backend, tmp_path):
    path = model_path("image", tmp_path)
    rng = np.random.default_rng(0)
    windows = [rng.normal(size=(p, 1, 17, 3)).astype(np.float32) for p in (3, 2, 4, 1)]  # 10 people
    crops = rng.uniform(size=(3, 3, 8, 8)).astype(np.float32)
    calibration = [{"window": windows[0], "image": crops}, *windows[1:]]  # real crops for the first item only
    make_lifter("tensorrt", path, max_people=4, precision="int8", engine_dir=tmp_path, log=print,
                calibration=calibration)
    (build,) = FakeBuilder.builds
    assert build["flags"] == {"fp16", "int8"}
    batches = build["calibration"]
    assert len(batches) == 2  # 10 people in batches of max_people 4; the last 2 dropped
    np.testing.assert_array_equal(np.concatenate([b["window"] for b in batches]), np.concatenate(windows)[:8])
    np.testing.assert_array_equal(batches[0]["image"][:3], crops)
    stand_in = np.concatenate([batches[0]["image"][3:], batches[1]["image"]])
    assert stand_in.shape == (5, 3, 8, 8) and 0 <= stand_in.min() and stand_in.max() <= 1 and stand_in.std() > 0.1


def test_fake_int8_calibration_names_a_wrong_batch(fake_backend, tmp_path):
    path = two_output_onnx(tmp_path / "two.onnx")
    cache = EngineCache(tmp_path)
    with pytest.raises(ValueError, match=r"calibration batch: feeds for inputs \['anchors', 'crop'\]; expected"):
        fake_backend.open_tensorrt(path, "int8", 4, cache, print, calibration=[
            {"anchors": np.zeros((4, 2), np.float32), "crop": np.zeros((4, 3, 4, 4), np.float32)}])
    with pytest.raises(ValueError, match=r"calibration batch: input 'pixels' \(4, 3, 6, 6\); expected \(B, 3, 4, 4\)"):
        fake_backend.open_tensorrt(path, "int8", 4, cache, print, calibration=[
            {"anchors": np.zeros((4, 2), np.float32), "pixels": np.zeros((4, 3, 6, 6), np.float32)}])


def test_fake_build_refuses_a_network_without_a_batch_dimension(fake_backend, tmp_path):
    path = two_output_onnx(tmp_path / "batch4.onnx", batch=4)
    with pytest.raises(InferenceError, match="batch4.onnx': input 'pixels' has a fixed batch of 4"):
        fake_backend.build_engine(path, "fp16", 4, tmp_path / "timing.cache", log=print)


def test_fake_engine_smaller_than_asked_or_not_the_lifters_is_refused(fake_backend, tmp_path):
    path = model_path("image", tmp_path)
    engine = fake_backend.build_engine(path, "fp16", 2, tmp_path / "timing.cache", log=print)
    with pytest.raises(InferenceError, match="engine input 'window' takes batches of at most 2; 4 asked for"):
        fake_backend.TensorRTSession(engine, max_batch=4)
    session = fake_backend.TensorRTSession(engine, 2, {**read_onnx(path).metadata, "receptive_field": "81"})
    with pytest.raises(LifterError, match=r"input window \(P, 1, 17, 3\); expected .* receptive field 81"):
        SessionLifter(session, path)
