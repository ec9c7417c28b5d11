"""The lifter on every runtime backend: ``auto`` on this CPU and its log line, named GPU backends' errors, what a
lifter network must look like, and ONNX Runtime CUDA and torch CUDA graphs on every kind of model (window only,
any receptive field, window and image crop); the GPU parts skip without CUDA.
"""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_runtime import ORT_CUDA, TENSORRT, TORCH_CUDA, fake_ort_cuda, no_gpu_stack  # noqa: F401 (fixture)
from tiny_lifters import MODELS, ONNX_PATH, lift_args, lifter_inputs_for, model_path, randomised

from pose3d_ros.lift import LifterError, make_lifter
from pose3d_ros.lift.architectures import ARCHITECTURES, build_model
from pose3d_ros.lift.lifter import lifter_inputs

PATH = Path("model.onnx")


@no_gpu_stack
def test_auto_falls_back_to_onnxruntime_cpu_and_logs_why_once():
    messages: list[str] = []
    lifter = make_lifter("auto", ONNX_PATH, log=messages.append)
    assert lifter.backend == "onnxruntime" and len(messages) == 1
    line = messages[0]
    assert re.match(r"causal_liu_rf81.onnx runs on onnxruntime \(skipped tensorrt: not installed \(", line)
    assert "onnxruntime_cuda: CUDAExecutionProvider not in available providers" in line
    assert f"torch_cuda: torch {torch.__version__} built without CUDA" in line or "found no CUDA device" in line
    args = lifter_inputs_for(lifter, 3)
    np.testing.assert_array_equal(lift_args(lifter, args), lift_args(make_lifter("onnxruntime", ONNX_PATH), args))


@no_gpu_stack
@pytest.mark.parametrize("backend, reason", [
    ("tensorrt", r"not installed \((ModuleNotFound|Import)Error: "),
    ("onnxruntime_cuda", "CUDAExecutionProvider not in available providers"),
    ("torch_cuda", r"torch .* \(torch.cuda.is_available\(\) is False\)"),
])
def test_named_gpu_backend_is_a_lifter_error_saying_why(backend, reason):
    with pytest.raises(LifterError, match=f"backend '{backend}' cannot run '.*causal_liu_rf81.onnx': {reason}"):
        make_lifter(backend, ONNX_PATH)


def test_make_lifter_accepts_auto_and_names_unavailable_backends():
    lifter = make_lifter("auto", ONNX_PATH, max_people=4, precision="fp32", engine_dir=None, log=print)
    assert lift_args(lifter, lifter_inputs_for(lifter, 2)).shape == (2, 17, 3)
    if not TENSORRT:
        with pytest.raises(LifterError, match="backend 'tensorrt' cannot run"):
            make_lifter("tensorrt", ONNX_PATH)


def test_lifter_inputs_give_the_crop_size():
    assert lifter_inputs({"window": (81, 17, 3)}, 81, PATH) == 0
    assert lifter_inputs({"image": (3, 64, 64), "window": (1, 17, 3)}, 1, PATH) == 64


@pytest.mark.parametrize("inputs, message", [
    ({"image": (3, 64, 64)}, r"'model.onnx' is not a lifter model: inputs \{'image': .*\}; expected inputs window"),
    ({"window": (1, 17, 3), "depth": (1, 64, 64)}, "inputs .*'depth'"),
    ({"window": (81, 17, 3)}, r"input window \(P, 81, 17, 3\); expected .* \(the metadata says receptive field 1\)"),
    ({"window": (1, 17, 2)}, r"input window \(P, 1, 17, 2\); expected inputs window \(P, 1, 17, 3\)"),
    ({"window": (1, 17, 3), "image": (64, 64, 3)}, r"input image \(P, 64, 64, 3\); expected \(P, 3, S, S\)"),
])
def test_lifter_inputs_say_what_is_wrong(inputs, message):
    with pytest.raises(LifterError, match=message):
        lifter_inputs(inputs, 1, PATH)


@pytest.mark.usefixtures("fake_ort_cuda")
@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_cuda_lifter_feeds_every_input(tmp_path, name):
    path = model_path(name, tmp_path)
    lifter, reference = make_lifter("onnxruntime_cuda", path), make_lifter("onnxruntime", path)
    assert lifter.backend == "onnxruntime_cuda"
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


@pytest.mark.skipif(not TORCH_CUDA, reason=f"torch {torch.__version__} has no CUDA device here")
@pytest.mark.parametrize("people", [1, 3, 4, 11])  # 11 > max_people 4: runs in chunks
def test_torch_cuda_graphs_match_the_cpu_reference(people):
    gpu = make_lifter("torch_cuda", ONNX_PATH, max_people=4)
    cpu = make_lifter("torch", ONNX_PATH)
    for seed in range(2):  # a second frame replays the same graphs with new inputs
        args = lifter_inputs_for(cpu, people, seed)
        np.testing.assert_allclose(lift_args(gpu, args), lift_args(cpu, args), atol=1e-4)


@pytest.mark.skipif(not TORCH_CUDA, reason=f"torch {torch.__version__} has no CUDA device here")
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_torch_cuda_graphs_run_every_architecture(tmp_path, name):
    from pose3d_ros.training.export import export, save_untrained

    path = tmp_path / f"{name}.onnx"
    export(save_untrained(randomised(build_model(name), scale=0.05), name, tmp_path / "checkpoint.pt"), path)
    gpu, cpu = make_lifter("torch_cuda", path, max_people=4), make_lifter("torch", path)
    assert (gpu.receptive_field, gpu.crop_size) == (cpu.receptive_field, cpu.crop_size)
    for people in (1, 3, 6):  # 6 > max_people 4: runs in chunks
        args = lifter_inputs_for(cpu, people, seed=people)
        # cuDNN may use TF32 on the GPU: compare at its precision, not float32's
        np.testing.assert_allclose(lift_args(gpu, args), lift_args(cpu, args), atol=2e-3, rtol=2e-3)
