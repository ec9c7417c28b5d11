"""Shared by the lifter tests: one torch thread, untrained models whose outputs are not all zero, and the small
lifter files and inputs the backend tests run."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny_onnx import tiny_lifter_onnx

ONNX_PATH = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights" / "causal_liu_rf81.onnx"
CAMERA = SimpleNamespace(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), width=1280, height=720)
MODELS = {  # name -> (receptive field, crop size), made by tiny_lifter_onnx; "causal_liu" is the shipped model
    "causal_liu": None, "single_frame": (1, 0), "image": (1, 8), "image_rf9": (9, 6)}


def model_path(name: str, tmp_path: Path) -> Path:
    return ONNX_PATH if MODELS[name] is None else tiny_lifter_onnx(tmp_path / f"{name}.onnx", *MODELS[name])


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


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one thread; two threads on a busy CPU wait on each other at every op."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def randomised(model: torch.nn.Module, scale: float = 0.2) -> torch.nn.Module:
    """The model with every parameter nudged: the zero-initialised heads alone would make every output 0."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=generator))
    return model.eval()


def assert_onnx_matches_torch(model: torch.nn.Module, architecture: str, folder) -> dict[str, str]:
    """Export ``model`` through export() and check ONNX Runtime against torch for 1 and 5 people, with a joint
    lost for the newer part of each window; return the exported metadata."""
    import onnxruntime as ort

    from pose3d_ros.training.export import export, save_untrained

    meta = export(save_untrained(model, architecture, folder / "best.pt"), folder / f"{architecture}.onnx")
    session = ort.InferenceSession(str(folder / f"{architecture}.onnx"), providers=["CPUExecutionProvider"])
    frames = model.cfg.receptive_field
    for people in (1, 5):  # the people dimension is dynamic
        window = torch.randn(people, frames, 17, 3)
        window[:, frames // 3:, 13] = 0.0  # a joint lost for the newest frames
        with torch.no_grad():
            expected = model(window).numpy()
        np.testing.assert_allclose(session.run(None, {"window": window.numpy()})[0], expected, atol=1e-4)
    return meta
