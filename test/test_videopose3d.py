"""Causal VideoPose3D: one root-relative pose per window, the newest frame's, and nothing from outside the window."""

import pytest
import torch

from pose3d_ros.lift.architectures import build_model


@pytest.mark.parametrize("rf", [27, 81, 243])
def test_gives_one_root_relative_pose_per_window(rf):
    model = build_model("videopose3d", {"receptive_field": rf, "channels": 32}).eval()
    out = model(torch.randn(3, rf, 17, 3))
    assert out.shape == (3, 17, 3) and torch.isfinite(out).all()
    assert torch.all(out[:, 0] == 0)
    with pytest.raises(ValueError, match=f"needs exactly {rf}"):
        model(torch.randn(1, rf - 1, 17, 3))


def test_every_frame_of_the_window_reaches_the_newest_pose():
    """The strided stack's receptive field is the whole window: perturbing the oldest frame moves the output."""
    model = build_model("videopose3d", {"receptive_field": 27, "channels": 32}).eval()
    torch.nn.init.normal_(model.shrink.weight, std=0.1)  # the head starts at zero
    window = torch.randn(1, 27, 17, 3)
    changed = window.clone()
    changed[:, 0] += 1.0
    with torch.no_grad():
        assert not torch.allclose(model(window), model(changed))


def test_unsupported_receptive_field_is_named():
    with pytest.raises(ValueError, match="receptive_field 9 not supported"):
        build_model("videopose3d", {"receptive_field": 9})
