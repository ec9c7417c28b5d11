"""Shared by the lifter tests: one torch thread, and untrained models whose outputs are not all zero."""

import pytest
import torch


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
    import numpy as np
    import onnxruntime as ort

    from pose3d_ros.lift.export import export, save_untrained

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
