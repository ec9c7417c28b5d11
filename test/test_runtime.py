"""The runtime floor on this CPU: the batch rules every session follows, ONNX Runtime sessions running a network
that is no lifter (two inputs, two outputs), the ``auto`` choice and its one log line, named backends that cannot
run, and torch CUDA graphs (their GPU parts skip without CUDA).
"""

import importlib.util
import re

import numpy as np
import onnxruntime as ort
import pytest
import torch
from tiny_onnx import two_output_expected, two_output_feeds, two_output_onnx

from pose3d_ros.runtime import InferenceError, open_session
from pose3d_ros.runtime.session import (
    batch_buckets,
    batch_inputs,
    batch_profile,
    bucket_for,
    feed_batch,
    run_in_chunks,
)

ORT_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
TORCH_CUDA = torch.cuda.is_available()
TENSORRT = importlib.util.find_spec("tensorrt") is not None and hasattr(importlib.import_module("tensorrt"), "Builder")
no_gpu_stack = pytest.mark.skipif(ORT_CUDA or TORCH_CUDA or TENSORRT,
                                  reason="checks the CPU-only machine: TensorRT or CUDA is present here")


@pytest.fixture
def two_output(tmp_path):
    return two_output_onnx(tmp_path / "two.onnx")


def test_batch_inputs_take_dimension_0_as_the_batch():
    assert batch_inputs({"x": ["n", 3, 4], "y": [None, 2], "z": [0, 1]}, "f") == (
        {"x": (3, 4), "y": (2,), "z": (1,)}, None)
    assert batch_inputs({"x": [1, 3], "y": [-1, 2]}, "f") == ({"x": (3,), "y": (2,)}, 1)


@pytest.mark.parametrize("shapes, message", [
    ({"x": [-1, "h", 3]}, r"'f': input 'x' has shape \(-1, 'h', 3\); expected a batch dimension 0 and fixed sizes"),
    ({"x": []}, r"input 'x' has shape \(\)"),
    ({"x": [-1, 3], "y": [4, 3]}, "input 'y' has a fixed batch of 4; expected a dynamic dimension 0"),
])
def test_batch_inputs_say_what_is_wrong(shapes, message):
    with pytest.raises(InferenceError, match=message):
        batch_inputs(shapes, "f")


def test_feeds_hold_every_input_with_one_batch():
    inputs = {"a": (2,), "b": (3, 1)}
    assert feed_batch({"a": np.zeros((5, 2)), "b": np.zeros((5, 3, 1))}, inputs) == 5
    with pytest.raises(ValueError, match=r"feeds for inputs \['a'\]; expected \['a', 'b'\]"):
        feed_batch({"a": np.zeros((5, 2))}, inputs)
    with pytest.raises(ValueError, match=r"input 'b' \(5, 3\); expected \(B, 3, 1\)"):
        feed_batch({"a": np.zeros((5, 2)), "b": np.zeros((5, 3))}, inputs)
    with pytest.raises(ValueError, match=r"batch sizes \[4, 5\]; expected one batch size B >= 1"):
        feed_batch({"a": np.zeros((5, 2)), "b": np.zeros((4, 3, 1))}, inputs)
    with pytest.raises(ValueError, match=r"batch sizes \[0\]"):
        feed_batch({"a": np.zeros((0, 2)), "b": np.zeros((0, 3, 1))}, inputs)


def test_chunks_concatenate_every_output():
    sizes = []

    def run(feeds):
        sizes.append(len(feeds["x"]))
        return [2 * feeds["x"], feeds["x"][:, :1]]

    x = np.arange(14.0).reshape(7, 2)
    boxes, firsts = run_in_chunks({"x": x}, 7, 3, run)
    assert sizes == [3, 3, 1]
    np.testing.assert_array_equal(boxes, 2 * x)
    np.testing.assert_array_equal(firsts, x[:, :1])
    sizes.clear()
    run_in_chunks({"x": x}, 7, None, run)
    assert sizes == [7]


def test_batch_profile_and_buckets():
    assert batch_profile(8, 2) == (1, 2, 8)
    assert batch_profile(4, 9) == batch_profile(4, 4) == (1, 4, 4)
    assert batch_profile(1, 0) == (1, 1, 1)
    assert batch_buckets(1) == (1,)
    assert batch_buckets(5) == batch_buckets(8) == (1, 2, 4, 8)
    assert [bucket_for(b, (1, 2, 4, 8)) for b in range(1, 9)] == [1, 2, 4, 4, 8, 8, 8, 8]
    with pytest.raises(ValueError, match="max_batch 0"):
        batch_profile(0, 2)
    with pytest.raises(ValueError, match="max_batch 0"):
        batch_buckets(0)


@pytest.mark.parametrize("batch_dim", ["tiles", 1])
def test_onnxruntime_session_runs_a_two_output_network(tmp_path, batch_dim):
    session = open_session("onnxruntime", two_output_onnx(tmp_path / "two.onnx", batch=batch_dim))
    assert session.backend == "onnxruntime"
    assert session.inputs == {"pixels": (3, 4, 4), "anchors": (2,)}
    assert session.output_names == ["boxes", "scores"] and session.metadata == {"network": "two_output"}
    for batch in (1, 3):  # a file that fixes the batch at 1 runs 3 as three calls
        feeds = two_output_feeds(batch, seed=batch)
        got = session.run(feeds)
        assert [g.shape for g in got] == [(batch, 4), (batch, 2)]
        for g, want in zip(got, two_output_expected(feeds)):
            np.testing.assert_allclose(g, want, atol=1e-5)
    session.close()


class CpuSessionAsCuda(ort.InferenceSession):
    """A CPU session that says it runs on CUDA: the CUDA session's own code, checked without a GPU."""

    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]

    def __init__(self, path, options=None, providers=None):
        super().__init__(path, options, providers=["CPUExecutionProvider"])

    def get_providers(self):
        return self.providers


@pytest.fixture
def fake_ort_cuda(monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", CpuSessionAsCuda)
    return CpuSessionAsCuda


def test_onnxruntime_cuda_session_feeds_every_input(fake_ort_cuda, two_output):
    session = open_session("onnxruntime_cuda", two_output, num_threads=2)
    assert session.backend == "onnxruntime_cuda"
    feeds = two_output_feeds(3)
    for got, want in zip(session.run(feeds), two_output_expected(feeds)):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_onnxruntime_cuda_that_fell_back_to_the_cpu_is_refused(fake_ort_cuda, monkeypatch, two_output):
    monkeypatch.setattr(fake_ort_cuda, "providers", ["CPUExecutionProvider"])
    with pytest.raises(InferenceError, match=r"CUDAExecutionProvider did not start \(session providers \['CPU"):
        open_session("onnxruntime_cuda", two_output)


@pytest.mark.skipif(not ORT_CUDA, reason="onnxruntime has no CUDAExecutionProvider here")
def test_onnxruntime_cuda_matches_the_cpu(two_output):
    feeds = two_output_feeds(5)
    for got, want in zip(open_session("onnxruntime_cuda", two_output).run(feeds), two_output_expected(feeds)):
        np.testing.assert_allclose(got, want, atol=1e-3)


@no_gpu_stack
def test_auto_falls_back_to_onnxruntime_cpu_and_logs_why_once(two_output):
    messages: list[str] = []
    session = open_session("auto", two_output, log=messages.append)
    assert session.backend == "onnxruntime" and len(messages) == 1
    line = messages[0]
    assert re.match(r"two.onnx runs on onnxruntime \(skipped tensorrt: not installed \((ModuleNotFound|Import)Error: ",
                    line)
    assert f"onnxruntime_cuda: CUDAExecutionProvider not in available providers {ort.get_available_providers()}" in line
    assert line.endswith("torch_cuda: no torch module given (torch_module=...): an ONNX file alone cannot make one)")


@no_gpu_stack
@pytest.mark.parametrize("backend, reason", [
    ("tensorrt", r"not installed \((ModuleNotFound|Import)Error: "),
    ("onnxruntime_cuda", "CUDAExecutionProvider not in available providers"),
    ("torch_cuda", r"torch .* \(torch.cuda.is_available\(\) is False\)"),
])
def test_named_backend_says_why_it_cannot_run(two_output, backend, reason):
    def never():
        raise AssertionError("the module is made only where CUDA runs")

    with pytest.raises(InferenceError, match=f"backend '{backend}' cannot run '.*two.onnx': {reason}"):
        open_session(backend, two_output, torch_module=never)


def test_torch_cuda_needs_a_torch_module(two_output):
    with pytest.raises(InferenceError, match="backend 'torch_cuda' cannot run .*: no torch module given"):
        open_session("torch_cuda", two_output)


def test_chain_takes_the_first_backend_that_starts(two_output):
    messages: list[str] = []
    started = []

    def unavailable(req):
        raise InferenceError("not installed (ImportError: No module named 'tensorrt')")

    def crashing(req):
        raise RuntimeError("cudaErrorInsufficientDriver")

    def working(req):
        started.append(req)
        return "session"

    def never(req):
        raise AssertionError("a later backend must not be tried")

    chain = [("a", unavailable), ("b", crashing), ("c", working), ("d", never)]
    session = open_session("auto", two_output, max_batch=5, precision="fp32", log=messages.append, chain=chain)
    assert session == "session"
    assert (started[0].onnx_path, started[0].max_batch, started[0].precision) == (two_output, 5, "fp32")
    assert messages == ["two.onnx runs on c (skipped a: not installed (ImportError: No module named 'tensorrt'); "
                        "b: RuntimeError: cudaErrorInsufficientDriver)"]


def test_no_backend_starting_is_an_error_listing_every_reason(two_output):
    def unavailable(req):
        raise InferenceError("missing")

    with pytest.raises(InferenceError, match=r"no backend can run '.*two.onnx': a: missing; b: missing"):
        open_session("auto", two_output, chain=[("a", unavailable), ("b", unavailable)])


def test_missing_file_and_unknown_backend_fail_before_any_backend(tmp_path, two_output):
    def never(req):
        raise AssertionError("no backend may be tried without a model file")

    with pytest.raises(InferenceError, match="model file '.*nope.onnx' not found"):
        open_session("auto", tmp_path / "nope.onnx", chain=[("a", never)])
    with pytest.raises(InferenceError, match="backend 'openvino' unknown; expected one of auto, tensorrt"):
        open_session("openvino", two_output)


class TwoOutputModule(torch.nn.Module):
    """two_output_onnx's network in torch."""

    def __init__(self):
        super().__init__()
        w = np.random.default_rng(7).normal(0, 0.2, (48, 4)).astype(np.float32)
        self.w = torch.nn.Parameter(torch.from_numpy(w))

    def forward(self, pixels, anchors):
        flat = pixels.flatten(1)
        return flat @ self.w, 2 * anchors + flat.mean(1, keepdim=True)


@pytest.mark.skipif(TORCH_CUDA, reason="checks the error on a machine without CUDA")
def test_cuda_graphs_without_cuda_are_an_inference_error():
    from pose3d_ros.runtime.cuda_graphs import CudaGraphSession

    with pytest.raises(InferenceError, match=r"\(torch.cuda.is_available\(\) is False\)"):
        CudaGraphSession(TwoOutputModule(), {"pixels": (3, 4, 4), "anchors": (2,)}, ["boxes", "scores"])


@pytest.mark.skipif(not TORCH_CUDA, reason=f"torch {torch.__version__} has no CUDA device here")
@pytest.mark.parametrize("batch", [1, 3, 4, 11])  # 11 > max_batch 4: runs in chunks
def test_cuda_graphs_run_a_two_output_network(two_output, batch):
    session = open_session("torch_cuda", two_output, max_batch=4, torch_module=TwoOutputModule)
    assert session.backend == "torch_cuda" and session.metadata == {"network": "two_output"}
    for seed in range(2):  # a second call replays the same graphs with new inputs
        feeds = two_output_feeds(batch, seed)
        for got, want in zip(session.run(feeds), two_output_expected(feeds)):
            np.testing.assert_allclose(got, want, atol=2e-3, rtol=2e-3)  # cuBLAS may use TF32
