"""Lifter backend selection: the fallback chain, its one log line, explicit GPU backends' errors, torch CUDA graphs,
and the ONNX Runtime CUDA and torch CUDA backends on every kind of model (window only, any receptive field,
window and image crop).

On a machine without TensorRT and CUDA (CI, developers) "auto" must land on ONNX Runtime CPU and say why
each GPU backend was skipped; the CUDA-only parts skip with the reason elsewhere.
"""

import dataclasses
import importlib.util
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest
import torch
from test_tensorrt import MODELS, lift_args, lifter_inputs_for, model_path

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift import LifterError, make_lifter
from pose3d_ros.lift.architectures import ARCHITECTURES, build_model
from pose3d_ros.lift.inputs import NORMALISATION
from pose3d_ros.lift.onnx_cuda_backend import OnnxCudaLifter
from pose3d_ros.lift.runtime import TorchLifter
from pose3d_ros.lift.select import make_accelerated_lifter, make_lifter_auto
from pose3d_ros.lift.torch_cuda_backend import TorchCudaLifter, bucket_for, people_buckets, per_person_shapes

ONNX_PATH = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights" / "causal_liu_rf81.onnx"
CAMERA = SimpleNamespace(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), width=1280, height=720)

ORT_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
TORCH_CUDA = torch.cuda.is_available()
TENSORRT = importlib.util.find_spec("tensorrt") is not None and hasattr(importlib.import_module("tensorrt"), "Builder")
no_gpu_stack = pytest.mark.skipif(ORT_CUDA or TORCH_CUDA or TENSORRT,
                                  reason="checks the CPU-only machine: TensorRT or CUDA is present here")


def windows(people: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(300, 900, (people, 81, 17, 2)).astype(np.float32)
    return kp, rng.uniform(0.3, 1.0, (people, 81, 17)).astype(np.float32)


@no_gpu_stack
def test_auto_falls_back_to_onnxruntime_cpu_and_logs_why_once():
    messages: list[str] = []
    lifter, name = make_lifter_auto(ONNX_PATH, log=messages.append)
    assert name == "onnxruntime"
    assert len(messages) == 1
    line = messages[0]
    assert re.match(r"lifter backend: onnxruntime \(skipped tensorrt: not installed \((ModuleNotFound|Import)Error: ",
                    line)
    assert ("onnxruntime_cuda: CUDAExecutionProvider not in available providers "
            f"{ort.get_available_providers()}") in line
    assert f"torch_cuda: torch {torch.__version__} built without CUDA" in line or "found no CUDA device" in line
    kp, conf = windows(3)
    reference = make_lifter("onnxruntime", ONNX_PATH).lift(kp, conf, CAMERA)
    np.testing.assert_array_equal(lifter.lift(kp, conf, CAMERA), reference)


@no_gpu_stack
@pytest.mark.parametrize("backend, reason", [
    ("tensorrt", r"not installed \((ModuleNotFound|Import)Error: "),
    ("onnxruntime_cuda", "CUDAExecutionProvider not in available providers"),
    ("torch_cuda", r"torch .* \(torch.cuda.is_available\(\) is False\)"),
])
def test_explicit_gpu_backend_says_why_it_cannot_run(backend, reason):
    with pytest.raises(LifterError, match=f"lifter backend '{backend}' cannot run: {reason}"):
        make_accelerated_lifter(backend, ONNX_PATH)


def test_chain_takes_the_first_backend_that_starts():
    messages: list[str] = []
    started = []

    def unavailable(req):
        raise LifterError("not installed (ImportError: No module named 'tensorrt')")

    def crashing(req):
        raise RuntimeError("cudaErrorInsufficientDriver")

    def working(req):
        started.append(req)
        return "lifter"

    def never(req):
        raise AssertionError("a later backend must not be tried")

    chain = [("a", unavailable), ("b", crashing), ("c", working), ("d", never)]
    lifter, name = make_lifter_auto(ONNX_PATH, max_people=5, precision="fp32", log=messages.append, chain=chain)
    assert (lifter, name) == ("lifter", "c")
    assert started[0].model_path == ONNX_PATH and started[0].max_people == 5 and started[0].precision == "fp32"
    assert messages == ["lifter backend: c (skipped a: not installed (ImportError: No module named 'tensorrt'); "
                        "b: RuntimeError: cudaErrorInsufficientDriver)"]


def test_no_backend_starting_is_an_error_listing_every_reason():
    def unavailable(req):
        raise LifterError("missing")

    with pytest.raises(LifterError, match=r"no lifter backend can run '.*': a: missing; b: missing"):
        make_lifter_auto(ONNX_PATH, log=print, chain=[("a", unavailable), ("b", unavailable)])


def test_missing_model_fails_before_any_backend(tmp_path):
    def never(req):
        raise AssertionError("no backend may be tried without a model file")

    with pytest.raises(LifterError, match="lifter model file '.*nope.onnx' not found"):
        make_lifter_auto(tmp_path / "nope.onnx", chain=[("a", never)])
    with pytest.raises(LifterError, match="lifter backend 'openvino' unknown here; expected auto or one of"):
        make_accelerated_lifter("openvino", ONNX_PATH)


def test_make_lifter_accepts_auto_and_names_unavailable_backends():
    lifter = make_lifter("auto", ONNX_PATH)
    kp, conf = windows(2)
    assert lifter.lift(kp, conf, CAMERA).shape == (2, 17, 3)
    if not TENSORRT:
        with pytest.raises(LifterError, match="lifter backend 'tensorrt' cannot run"):
            make_lifter("tensorrt", ONNX_PATH)


def test_people_buckets_cover_max_people():
    assert people_buckets(1) == (1,)
    assert people_buckets(5) == people_buckets(8) == (1, 2, 4, 8)
    assert [bucket_for(p, (1, 2, 4, 8)) for p in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]
    with pytest.raises(ValueError, match="max_people 0"):
        people_buckets(0)


@pytest.mark.skipif(TORCH_CUDA, reason="checks the error on a machine without CUDA")
def test_torch_cuda_without_cuda_is_a_lifter_error():
    with pytest.raises(LifterError, match=r"\(torch.cuda.is_available\(\) is False\)"):
        TorchCudaLifter(ONNX_PATH.with_suffix(".pt"))


@pytest.mark.skipif(not TORCH_CUDA, reason=f"torch {torch.__version__} has no CUDA device here")
@pytest.mark.parametrize("people", [1, 3, 4, 11])  # 11 > max_people 4: runs in chunks
def test_torch_cuda_graphs_match_the_cpu_reference(people):
    gpu = TorchCudaLifter(ONNX_PATH.with_suffix(".pt"), max_people=4)
    cpu = make_lifter("torch", ONNX_PATH)
    for seed in range(2):  # a second frame replays the same graphs with new inputs
        kp, conf = windows(people, seed)
        np.testing.assert_allclose(gpu.lift(kp, conf, CAMERA), cpu.lift(kp, conf, CAMERA), atol=1e-4)


def test_per_person_shapes_follow_the_model_inputs():
    assert per_person_shapes(81, 0) == ((81, 17, 3),)
    assert per_person_shapes(1, 64) == ((1, 17, 3), (3, 64, 64))


class CpuSessionAsCuda(ort.InferenceSession):
    """A CPU session that says it runs on CUDA: OnnxCudaLifter's own code, checked without a GPU."""

    def __init__(self, path, options=None, providers=None):
        super().__init__(path, options, providers=["CPUExecutionProvider"])

    def get_providers(self):
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_cuda_feeds_every_input(monkeypatch, tmp_path, name):
    path = model_path(name, tmp_path)
    reference = make_lifter("onnxruntime", path)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", CpuSessionAsCuda)
    lifter = OnnxCudaLifter(path, num_threads=1)
    assert (lifter.receptive_field, lifter.crop_size) == (reference.receptive_field, reference.crop_size)
    args = lifter_inputs_for(reference, 3)
    np.testing.assert_array_equal(lift_args(lifter, args), lift_args(reference, args))


@pytest.mark.skipif(not ORT_CUDA, reason="onnxruntime has no CUDAExecutionProvider here")
@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_cuda_matches_the_cpu(tmp_path, name):
    path = model_path(name, tmp_path)
    gpu, cpu = make_lifter("onnxruntime_cuda", path), make_lifter("onnxruntime", path)
    for people in (1, 5):
        args = lifter_inputs_for(cpu, people, seed=people)
        np.testing.assert_allclose(lift_args(gpu, args), lift_args(cpu, args), atol=1e-3)


def random_pt(name: str, path: Path) -> Path:
    """A .pt as pose3d_ros.lift.export writes it for architecture ``name``, default config, random weights."""
    try:
        model = build_model(name)
    except ImportError as exc:
        pytest.skip(f"architecture '{name}' is not in this checkout ({exc})")
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():  # some initialise to zero output, which any runtime would match
            parameter.normal_(0.0, 0.05)
    metadata = {"architecture": name, "model_config": json.dumps(dataclasses.asdict(model.cfg)),
                "receptive_field": str(model.cfg.receptive_field), "layout": H36M17.name,
                "input_normalisation": NORMALISATION}
    torch.save({"metadata": metadata, "model": model.state_dict()}, path)
    return path


@pytest.mark.skipif(not TORCH_CUDA, reason=f"torch {torch.__version__} has no CUDA device here")
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_torch_cuda_graphs_run_every_architecture(tmp_path, name):
    path = random_pt(name, tmp_path / f"{name}.pt")
    gpu, cpu = TorchCudaLifter(path, max_people=4), TorchLifter(path, num_threads=1)
    assert (gpu.receptive_field, gpu.crop_size) == (cpu.receptive_field, cpu.crop_size)
    for people in (1, 3, 6):  # 6 > max_people 4: runs in chunks
        args = lifter_inputs_for(cpu, people, seed=people)
        # cuDNN may use TF32 on the GPU: compare at its precision, not float32's
        np.testing.assert_allclose(lift_args(gpu, args), lift_args(cpu, args), atol=2e-3, rtol=2e-3)
