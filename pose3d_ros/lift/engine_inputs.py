"""What a lifter engine takes: each ONNX input's shape after the people dimension, and the people range of an
optimisation profile. Shared by the TensorRT builder, its runtime and the equivalent trtexec command line;
nothing here imports TensorRT.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

WINDOW, IMAGE = "window", "image"  # the lifter's ONNX inputs (pose3d_ros.lift.export); IMAGE only for image models


@dataclasses.dataclass(frozen=True)
class EngineInput:
    """One input of a lifter network: its name and its shape after dimension 0, the people dimension."""

    name: str
    per_person: tuple[int, ...]

    def shape(self, people: int) -> tuple[int, ...]:
        return (people, *self.per_person)


def lifter_inputs(shapes: Mapping[str, Sequence[int]]) -> tuple[EngineInput, ...]:
    """The inputs of a lifter network from each input's full shape by name; ``window`` first, then ``image``.

    Dimension 0 (people) may be anything (-1 or 0 when dynamic); the others must be fixed. Expects ``window``
    (P, T, 17, 3) and, for image models, ``image`` (P, 3, S, S). Raises ValueError saying what differs.
    """
    expected = "inputs window (P, T, 17, 3) [and image (P, 3, S, S)], as pose3d_ros.lift.export writes them"
    unknown = sorted(set(shapes) - {WINDOW, IMAGE})
    if WINDOW not in shapes or unknown:
        raise ValueError(f"model inputs {dict(shapes)}; expected {expected}")
    inputs = tuple(EngineInput(name, tuple(int(d) for d in shapes[name][1:])) for name in (WINDOW, IMAGE)
                   if name in shapes)
    for inp in inputs:
        if len(inp.per_person) != 3 or min(inp.per_person) <= 0:
            raise ValueError(f"model input '{inp.name}' has shape {tuple(shapes[inp.name])}; expected 4 dimensions, "
                             f"all fixed but the first ({expected})")
    if IMAGE in shapes and (inputs[1].per_person[0] != 3 or inputs[1].per_person[1] != inputs[1].per_person[2]):
        raise ValueError(f"model input 'image' has shape {tuple(shapes[IMAGE])}; expected (P, 3, S, S) RGB crops")
    return inputs


def profile_people(max_people: int, opt_people: int) -> tuple[int, int, int]:
    """The (min, opt, max) people of an engine's optimisation profile: opt_people is clamped into 1..max_people."""
    if max_people < 1:
        raise ValueError(f"max_people {max_people}; expected >= 1")
    return 1, min(max(opt_people, 1), max_people), max_people
