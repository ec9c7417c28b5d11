"""The description of a lifter engine's inputs and people profile that the TensorRT builder, its runtime and the
trtexec line share; no TensorRT needed."""

import pytest

from pose3d_ros.lift.engine_inputs import EngineInput, lifter_inputs, profile_people


def test_lifter_inputs_put_the_window_first_whatever_the_graph_order():
    window, image = EngineInput("window", (1, 17, 3)), EngineInput("image", (3, 64, 64))
    assert lifter_inputs({"image": (-1, 3, 64, 64), "window": (-1, 1, 17, 3)}) == (window, image)
    assert lifter_inputs({"window": [0, 81, 17, 3]}) == (EngineInput("window", (81, 17, 3)),)
    assert image.shape(5) == (5, 3, 64, 64)


@pytest.mark.parametrize("shapes, message", [
    ({"image": (-1, 3, 64, 64)}, r"model inputs \{'image': .*\}; expected inputs window"),
    ({"window": (-1, 1, 17, 3), "depth": (-1, 1, 64, 64)}, "model inputs .*'depth'"),
    ({"window": (-1, -1, 17, 3)}, r"input 'window' has shape \(-1, -1, 17, 3\); expected 4 dimensions, all fixed"),
    ({"window": (-1, 17, 3)}, "input 'window' has shape .*; expected 4 dimensions"),
    ({"window": (-1, 1, 17, 3), "image": (-1, 64, 64, 3)}, r"'image' has shape .*; expected \(P, 3, S, S\)"),
])
def test_lifter_inputs_say_what_is_wrong(shapes, message):
    with pytest.raises(ValueError, match=message):
        lifter_inputs(shapes)


def test_profile_people_clamps_the_tuned_count():
    assert profile_people(8, 2) == (1, 2, 8)
    assert profile_people(4, 9) == profile_people(4, 4) == (1, 4, 4)
    assert profile_people(1, 0) == (1, 1, 1)
    with pytest.raises(ValueError, match="max_people 0"):
        profile_people(0, 2)
