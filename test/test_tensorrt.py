"""TensorRT backend: parity with ONNX Runtime and the engine cache with real engines (needs TensorRT and a GPU),
and what works everywhere: the trtexec line, build_engine's answer without TensorRT, the import error's reason,
and the backend's multi-input logic (profiles, buffers, shapes, calibration) run against a fake TensorRT and
CUDA runtime whose "engine" is ONNX Runtime on the CPU.
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
from onnx import TensorProto, helper, numpy_helper

import pose3d_ros.lift
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift import LifterError, make_lifter
from pose3d_ros.lift.build_engine import main as build_engine_main
from pose3d_ros.lift.build_engine import onnx_inputs, trtexec_command
from pose3d_ros.lift.engine_cache import EngineCache
from pose3d_ros.lift.engine_inputs import EngineInput
from pose3d_ros.lift.inputs import NORMALISATION

ONNX_PATH = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights" / "causal_liu_rf81.onnx"
CAMERA = SimpleNamespace(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), width=1280, height=720)
MAX_PEOPLE = 4
TOLERANCE_M = {"fp32": 1e-4, "fp16": 1e-2}  # fp16: 10 mm on joints of ~1 m; fp32 differs in summation order


def tensorrt_import_error() -> str | None:
    try:
        backend = importlib.import_module("pose3d_ros.lift.tensorrt_backend")
    except ImportError as exc:
        return f"TensorRT backend unavailable ({type(exc).__name__}: {exc})"
    try:
        backend.gpu_identity()
    except RuntimeError as exc:
        return f"no CUDA GPU for TensorRT ({exc})"
    return None


UNAVAILABLE = tensorrt_import_error()
needs_tensorrt = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))


def windows(people: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(300, 900, (people, 81, 17, 2)).astype(np.float32)
    return kp, rng.uniform(0.3, 1.0, (people, 81, 17)).astype(np.float32)


def tiny_lifter_onnx(path: Path, receptive_field: int, crop_size: int = 0, window_name: str = "window") -> Path:
    """A small lifter ONNX file shaped as pose3d_ros.lift.export writes one: joints = the newest frame's input,
    plus, for an image model (crop_size > 0), a random linear map of the person's crop."""
    window = helper.make_tensor_value_info(window_name, TensorProto.FLOAT, ["people", receptive_field, 17, 3])
    inputs = [window]
    nodes = [helper.make_node("Gather", [window_name, "newest"], ["pose" if crop_size else "joints"], axis=1)]
    weights = [numpy_helper.from_array(np.array(receptive_field - 1, np.int64), "newest")]
    if crop_size:
        inputs.append(helper.make_tensor_value_info("image", TensorProto.FLOAT, ["people", 3, crop_size, crop_size]))
        rng = np.random.default_rng(crop_size)
        weights += [numpy_helper.from_array(rng.normal(0, 0.1, (3 * crop_size**2, 51)).astype(np.float32), "mix"),
                    numpy_helper.from_array(np.array([-1, 17, 3], np.int64), "joint_shape")]
        nodes += [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
                  helper.make_node("MatMul", ["flat", "mix"], ["mixed"]),
                  helper.make_node("Reshape", ["mixed", "joint_shape"], ["offset"]),
                  helper.make_node("Add", ["pose", "offset"], ["joints"])]
    joints = helper.make_tensor_value_info("joints", TensorProto.FLOAT, ["people", 17, 3])
    model = helper.make_model(helper.make_graph(nodes, "tiny_lifter", inputs, [joints], weights),
                              opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    helper.set_model_props(model, {"receptive_field": str(receptive_field), "layout": H36M17.name,
                                   "input_normalisation": NORMALISATION})
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))
    return path


def lifter_inputs_for(lifter, people: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """lift()'s arguments after the camera for ``people`` people: keypoints, confidence [, crops]."""
    rng = np.random.default_rng(seed)
    t = lifter.receptive_field
    kp = rng.uniform(300, 900, (people, t, 17, 2)).astype(np.float32)
    conf = rng.uniform(0.3, 1.0, (people, t, 17)).astype(np.float32)
    if not lifter.crop_size:
        return kp, conf
    return kp, conf, rng.uniform(0, 1, (people, 3, lifter.crop_size, lifter.crop_size)).astype(np.float32)


def lift_args(lifter, args: tuple[np.ndarray, ...]) -> np.ndarray:
    kp, conf, *crops = args
    return lifter.lift(kp, conf, CAMERA, *crops)


MODELS = {  # name -> (receptive field, crop size), made by tiny_lifter_onnx; "causal_liu" is the shipped model
    "causal_liu": None, "single_frame": (1, 0), "image": (1, 8), "image_rf9": (9, 6)}


def model_path(name: str, tmp_path: Path) -> Path:
    return ONNX_PATH if MODELS[name] is None else tiny_lifter_onnx(tmp_path / f"{name}.onnx", *MODELS[name])


def test_trtexec_line_uses_the_models_input_and_people_profile():
    line = trtexec_command(ONNX_PATH, Path("out.engine"), "fp16", max_people=8, opt_people=2)
    assert line == (f"trtexec --onnx={ONNX_PATH} --saveEngine=out.engine --minShapes=window:1x81x17x3 "
                    "--optShapes=window:2x81x17x3 --maxShapes=window:8x81x17x3 --memPoolSize=workspace:256 --fp16")
    assert trtexec_command(ONNX_PATH, Path("e"), "fp32", 8, 2).endswith("workspace:256")
    assert trtexec_command(ONNX_PATH, Path("e"), "int8", 8, 2, Path("t.cache")).endswith(
        "--fp16 --int8 --timingCacheFile=t.cache")


def test_trtexec_line_lists_every_input_of_an_image_model(tmp_path):
    path = tiny_lifter_onnx(tmp_path / "image_lifter.onnx", receptive_field=1, crop_size=8)
    assert onnx_inputs(path) == (EngineInput("window", (1, 17, 3)), EngineInput("image", (3, 8, 8)))
    line = trtexec_command(path, Path("out.engine"), "fp16", max_people=4, opt_people=9)  # opt clamped to 4
    assert ("--minShapes=window:1x1x17x3,image:1x3x8x8 --optShapes=window:4x1x17x3,image:4x3x8x8 "
            "--maxShapes=window:4x1x17x3,image:4x3x8x8 ") in line


def test_trtexec_line_refuses_a_model_that_is_not_a_lifter(tmp_path, capsys):
    path = tiny_lifter_onnx(tmp_path / "other.onnx", receptive_field=1, window_name="x")
    with pytest.raises(ValueError, match=r"other.onnx': model inputs \{'x': \[0, 1, 17, 3\]\}; expected inputs window"):
        trtexec_command(path, Path("e"), "fp16", 8, 2)
    with pytest.raises(SystemExit):
        build_engine_main(["--model", str(path)])
    assert "model inputs {'x'" in capsys.readouterr().err


@pytest.mark.skipif(UNAVAILABLE is None, reason="checks the machine without TensorRT")
def test_without_tensorrt_import_says_why_and_build_engine_prints_trtexec(capsys):
    assert UNAVAILABLE.startswith("TensorRT backend unavailable (") or UNAVAILABLE.startswith("no CUDA GPU")
    assert build_engine_main(["--model", str(ONNX_PATH), "--max-people", "6"]) == 2
    out, err = capsys.readouterr()
    assert "--maxShapes=window:6x81x17x3" in out
    assert "run this on the target machine" in err


@needs_tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_tensorrt_matches_onnxruntime(tmp_path, precision):
    from pose3d_ros.lift.tensorrt_backend import load_tensorrt_lifter

    trt_lifter = load_tensorrt_lifter(ONNX_PATH, precision, MAX_PEOPLE, EngineCache(tmp_path), log=print)
    reference = make_lifter("onnxruntime", ONNX_PATH)
    for people in (1, 3, MAX_PEOPLE, MAX_PEOPLE + 3):  # the last runs in two chunks
        kp, conf = windows(people, seed=people)
        got, want = trt_lifter.lift(kp, conf, CAMERA), reference.lift(kp, conf, CAMERA)
        assert got.shape == (people, 17, 3)
        assert np.abs(got - want).max() < TOLERANCE_M[precision], precision


@needs_tensorrt
@pytest.mark.parametrize("name", ["single_frame", "image", "image_rf9"])
def test_tensorrt_runs_single_frame_and_image_models(tmp_path, name):
    from pose3d_ros.lift.tensorrt_backend import load_tensorrt_lifter

    path = model_path(name, tmp_path)
    trt_lifter = load_tensorrt_lifter(path, "fp16", MAX_PEOPLE, EngineCache(tmp_path), log=print)
    reference = make_lifter("onnxruntime", path)
    assert trt_lifter.crop_size == reference.crop_size
    for people in (1, 3, MAX_PEOPLE + 3):
        args = lifter_inputs_for(reference, people, seed=people)
        assert np.abs(lift_args(trt_lifter, args) - lift_args(reference, args)).max() < TOLERANCE_M["fp16"]


@needs_tensorrt
def test_tensorrt_int8_calibrates_an_image_model_from_windows_alone(tmp_path):
    from pose3d_ros.lift.tensorrt_backend import load_tensorrt_lifter

    path = model_path("image", tmp_path)
    reference = make_lifter("onnxruntime", path)
    rng = np.random.default_rng(0)
    calibration = [rng.normal(size=(8, 1, 17, 3)).astype(np.float32) for _ in range(8)]
    trt_lifter = load_tensorrt_lifter(path, "int8", MAX_PEOPLE, EngineCache(tmp_path), log=print,
                                      calibration=calibration)
    args = lifter_inputs_for(reference, 3)
    assert np.abs(lift_args(trt_lifter, args) - lift_args(reference, args)).max() < 0.1  # INT8: coarse


@needs_tensorrt
def test_tensorrt_engine_cache_hit_miss_and_rebuild(tmp_path):
    from pose3d_ros.lift.tensorrt_backend import engine_key, load_tensorrt_lifter

    messages: list[str] = []
    cache = EngineCache(tmp_path, log=messages.append)
    kp, conf = windows(2)
    first = load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append).lift(kp, conf, CAMERA)
    key = engine_key(ONNX_PATH, "fp16", MAX_PEOPLE)
    path = cache.engine_path(key)
    assert path.is_file() and cache.timing_cache_path(key).is_file()
    assert any(m.startswith("engine cache: miss") for m in messages)

    messages.clear()
    hit = load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append).lift(kp, conf, CAMERA)
    assert any(m.startswith("engine cache: hit") for m in messages) and not any("miss" in m for m in messages)
    np.testing.assert_array_equal(hit, first)

    path.write_bytes(path.read_bytes()[:1000])  # truncated
    messages.clear()
    load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append)
    assert any(m.startswith("WARNING: engine cache: rebuilding") for m in messages)

    garbage = b"\0" * 4096  # a consistent record around bytes TensorRT cannot deserialise
    path.write_bytes(garbage)
    record = json.loads(path.with_suffix(".json").read_text())
    record.update(size=len(garbage), sha256=hashlib.sha256(garbage).hexdigest())
    path.with_suffix(".json").write_text(json.dumps(record))
    messages.clear()
    load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append)
    assert any("does not load" in m for m in messages)


# A fake TensorRT and CUDA runtime, enough to run tensorrt_backend without a GPU: "device" memory is host
# memory, the builder records its profiles and calibration batches, and the engine runs the ONNX model on
# ONNX Runtime's CPU provider, reading and writing the buffers at the addresses the backend bound.

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
        assert len({s[0] for s in self.input_shapes.values()}) == 1, f"people differ: {self.input_shapes}"
        feed = {n: _floats(self.addresses[n], self.input_shapes[n]).copy() for n in inputs}
        (joints,) = self.engine.session.run(None, feed)
        (output,) = [n for n in self.engine.names if n not in inputs]
        _floats(self.addresses[output], joints.shape)[...] = joints
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
    trt.NetworkDefinitionCreationFlag = SimpleNamespace(EXPLICIT_BATCH=0)
    trt.MemoryPoolType = SimpleNamespace(WORKSPACE="workspace")
    trt.BuilderFlag = SimpleNamespace(FP16="fp16", INT8="int8")
    return trt


@pytest.fixture
def fake_backend(monkeypatch):
    """pose3d_ros.lift.tensorrt_backend imported over the fakes (``.cudart`` is the FakeCudart), then removed."""
    cudart = FakeCudart()
    cuda, bindings = ModuleType("cuda"), ModuleType("cuda.bindings")
    cuda.bindings, bindings.runtime = bindings, cudart
    for name, module in [("tensorrt", fake_tensorrt_module()), ("cuda", cuda), ("cuda.bindings", bindings),
                         ("cuda.bindings.runtime", cudart)]:
        monkeypatch.setitem(sys.modules, name, module)
    name = "pose3d_ros.lift.tensorrt_backend"
    monkeypatch.delitem(sys.modules, name, raising=False)  # a real one comes back after the test
    monkeypatch.delattr(pose3d_ros.lift, "tensorrt_backend", raising=False)
    FakeBuilder.builds = []
    yield importlib.import_module(name)
    del sys.modules[name]  # the fake-backed module must not outlive the test
    delattr(pose3d_ros.lift, "tensorrt_backend")


@pytest.mark.parametrize("name", MODELS)
def test_fake_engine_has_one_profile_over_every_inputs_people(fake_backend, tmp_path, name):
    path = model_path(name, tmp_path)
    lifter = fake_backend.load_tensorrt_lifter(path, "fp16", max_people=4, cache=EngineCache(tmp_path), log=print)
    (build,) = FakeBuilder.builds
    assert build["flags"] == {"fp16"}
    expected = {i.name: [i.shape(1), i.shape(2), i.shape(4)] for i in onnx_inputs(path)}
    assert build["profile"] == expected and len(expected) == (2 if lifter.crop_size else 1)
    assert lifter.crop_size == (MODELS[name] or (81, 0))[1]


@pytest.mark.parametrize("name", MODELS)
def test_fake_tensorrt_lifter_matches_onnxruntime_without_allocating_per_frame(fake_backend, tmp_path, name):
    path = model_path(name, tmp_path)
    lifter = fake_backend.load_tensorrt_lifter(path, "fp16", MAX_PEOPLE, EngineCache(tmp_path), log=print)
    reference = make_lifter("onnxruntime", path)
    allocations = fake_backend.cudart.allocations
    for people in (1, 3, MAX_PEOPLE, MAX_PEOPLE + 3, 2):  # MAX_PEOPLE + 3 runs in two chunks
        args = lifter_inputs_for(reference, people, seed=people)
        got = lift_args(lifter, args)
        assert got.shape == (people, 17, 3)
        np.testing.assert_allclose(got, lift_args(reference, args), atol=1e-5)
    assert fake_backend.cudart.allocations == allocations
    # A people count sets every input's shape once, and only when it changes.
    names = [i.name for i in lifter.inputs]
    assert lifter.context.shape_calls == [(n, i.shape(p)) for p in (1, 3, 4, 3, 2)
                                          for n, i in zip(names, lifter.inputs)]
    lifter.close()
    assert fake_backend.cudart.memory == {}


def test_fake_int8_calibration_feeds_every_input(fake_backend, tmp_path):
    path = model_path("image", tmp_path)
    rng = np.random.default_rng(0)
    windows = [rng.normal(size=(p, 1, 17, 3)).astype(np.float32) for p in (3, 2, 4, 1)]  # 10 people
    crops = rng.uniform(size=(3, 3, 8, 8)).astype(np.float32)
    calibration = [{"window": windows[0], "image": crops}, *windows[1:]]  # real crops for the first item only
    fake_backend.load_tensorrt_lifter(path, "int8", max_people=4, cache=EngineCache(tmp_path), log=print,
                                      calibration=calibration)
    (build,) = FakeBuilder.builds
    assert build["flags"] == {"fp16", "int8"}
    batches = build["calibration"]
    assert len(batches) == 2  # 10 people in batches of max_people 4; the last 2 dropped
    np.testing.assert_array_equal(np.concatenate([b["window"] for b in batches]), np.concatenate(windows)[:8])
    np.testing.assert_array_equal(batches[0]["image"][:3], crops)
    stand_in = np.concatenate([batches[0]["image"][3:], batches[1]["image"]])
    assert stand_in.shape == (5, 3, 8, 8) and 0 <= stand_in.min() and stand_in.max() <= 1 and stand_in.std() > 0.1


def test_fake_int8_calibration_names_a_wrong_item(fake_backend, tmp_path):
    path = model_path("image", tmp_path)
    cache = EngineCache(tmp_path)
    with pytest.raises(ValueError, match=r"calibration item with inputs \['crop', 'window'\]; expected"):
        fake_backend.load_tensorrt_lifter(path, "int8", 4, cache, print, calibration=[
            {"window": np.zeros((4, 1, 17, 3), np.float32), "crop": np.zeros((4, 3, 8, 8), np.float32)}])
    with pytest.raises(ValueError, match=r"calibration image \(4, 3, 6, 6\); expected \(4, 3, 8, 8\)"):
        fake_backend.load_tensorrt_lifter(path, "int8", 4, cache, print, calibration=[
            {"window": np.zeros((4, 1, 17, 3), np.float32), "image": np.zeros((4, 3, 6, 6), np.float32)}])


def test_fake_build_refuses_a_model_that_is_not_a_lifter(fake_backend, tmp_path):
    path = tiny_lifter_onnx(tmp_path / "other.onnx", receptive_field=1, window_name="x")
    with pytest.raises(LifterError, match="other.onnx' is not a lifter model for this runtime: model inputs"):
        fake_backend.build_engine(path, "fp16", 4, tmp_path / "timing.cache", log=print)


def test_fake_engine_smaller_than_asked_is_refused(fake_backend, tmp_path):
    path = model_path("image", tmp_path)
    engine = fake_backend.build_engine(path, "fp16", 2, tmp_path / "timing.cache", log=print)
    with pytest.raises(LifterError, match="engine input 'window' takes at most 2 people; 4 asked for"):
        fake_backend.TensorRTLifter(engine, receptive_field=1, max_people=4)
    with pytest.raises(LifterError, match="engine window has 1 frames; the model's metadata says receptive field 81"):
        fake_backend.TensorRTLifter(engine, receptive_field=81, max_people=2)
