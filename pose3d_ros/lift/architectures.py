"""The lifter architectures by name: one file each, sharing data, training, export and the runtimes.

Every model maps a causal window (B, T, 17, 3) of normalised [x, y, confidence] (lift/inputs.py, oldest frame
first, T = its config's ``receptive_field``; 1 for single-frame models) to the root-relative 3D joints
(B, 17, 3) of the newest frame. A model whose class sets ``needs_image = True`` also takes the person's image
crop (B, 3, S, S) float32 in [0, 1] (lift/crops.py) as a second argument and ONNX input ``image``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Architecture:
    name: str
    paper: str
    module: str  # defines MODEL, an nn.Module class whose Config attribute is its config dataclass

    @property
    def classes(self) -> tuple[type, type]:
        """(model class, config dataclass), imported on first use: the ONNX Runtime path never imports torch."""
        module = importlib.import_module(self.module)
        model = module.MODEL
        return model, model.Config


ARCHITECTURES = {a.name: a for a in (
    Architecture("causal_liu", "Liu et al., IJCV 2021 (attention + multi-scale dilated convolutions), causal form",
                 "pose3d_ros.lift.causal_liu"),
    Architecture("videopose3d", "Pavllo et al., CVPR 2019 (VideoPose3D), causal form", "pose3d_ros.lift.videopose3d"),
    Architecture("ampose", "Lin, Wu, Chiu, ICASSP 2023 (AMPose)", "pose3d_ros.lift.ampose"),
    Architecture("ssr_stf", "Xu et al., 2024 (SSR-STF), causal masked form", "pose3d_ros.lift.ssr_stf"),
    Architecture("spatial_temporal", "AMPose (ICASSP 2023) fed Liu et al.'s (IJCV 2021) causal temporal model",
                 "pose3d_ros.lift.spatial_temporal"),
    Architecture("lifting_by_image", "Zhou, Yin, Li, AAAI 2024 (Lifting by Image)",
                 "pose3d_ros.lift.lifting_by_image"),
)}


def window_shape(window: Any, receptive_field: int) -> tuple[int, int, int, int]:
    """(B, T, J, F) of a model's input window, which must hold exactly ``receptive_field`` frames."""
    b, t, j, f = window.shape
    if t != receptive_field:
        raise ValueError(f"window has {t} frames; this model needs exactly {receptive_field}")
    return b, t, j, f


def architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise ValueError(f"lifter architecture '{name}' unknown; expected one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def build_model(name: str, config: dict[str, Any] | None = None) -> Any:
    """A freshly initialised ``name`` model from its config fields (missing fields take their defaults)."""
    model_class, config_class = architecture(name).classes
    return model_class(config_class(**(config or {})))
