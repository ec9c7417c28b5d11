"""The package's spatial-temporal causal lifter: AMPose's joint reasoning on the newest frame, told how the body
has been moving by Liu et al.'s causal temporal model (both papers in ampose.py and causal_liu.py; the
combination is this package's).

Single-frame AMPose is the most accurate lifter here and the causal Liu model the smoothest; this model is meant
to be both. The temporal model reads the whole window and its features of the newest frame become one token
per joint, added to AMPose's own tokens of the newest frame before its Transformer and GCN blocks, which reason
over the skeleton with both. With ``to_tokens`` at zero (its initial value) the model is exactly AMPose: it can
start from a trained single-frame AMPose (``init_from``) and learn what time adds.

A per-frame spatial encoder in front of the temporal model (a GCN block on every frame of the window) was
measured and left out: on this project's 2-core CPU it made one step 1.2 ms for one person and 6.6 ms for 8
(ONNX Runtime, one thread), against 0.8 and 2.4 ms without it, past the package's 1 ms / 4 ms budget.

Figure, top to bottom:
  2D window (B, T, 17, 3)
  ├ Liu's temporal attention + multi-scale dilated convs over the window .............. (B, C)
  │   -> linear ............................................................ motion tokens (B, 17, D)
  └ newest frame: linear -> + joint embedding ............................... pose tokens (B, 17, D)
  pose tokens + motion tokens -> pair l = 1..L: Transformer block, GCN block (AMPose) -> LN -> linear
  -> (B, 17, 3), pelvis moved to the origin

Fixed work per frame: one window in, the newest frame's pose out; no state between calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pose3d_ros.lift.ampose import AMPose, AMPoseConfig
from pose3d_ros.lift.architectures import window_shape
from pose3d_ros.lift.causal_liu import CausalLiuConfig, DilatedTrunk


@dataclass(frozen=True)
class SpatialTemporalConfig:
    receptive_field: int = 81  # 27, 81 or 243 (the temporal model's strided stages)
    num_joints: int = 17
    in_features: int = 3  # x, y, confidence
    channels: int = 64  # temporal model width
    groups: int = 8
    reduction: int = 32
    dim: int = 64  # AMPose's token width
    pairs: int = 4
    heads: int = 4
    mlp_ratio: int = 2
    dropout: float = 0.1
    # Train only the temporal model and its tokens, AMPose's weights (from init_from) kept as they are: the
    # model then starts, and stays on everything it has no motion cue for, the single-frame AMPose it was given.
    temporal_only: bool = False

    def __post_init__(self) -> None:
        _ = self.ampose, self.temporal  # the parts' own checks

    @property
    def ampose(self) -> AMPoseConfig:
        return AMPoseConfig(1, self.num_joints, self.in_features, self.dim, self.pairs, self.heads, self.mlp_ratio,
                            self.dropout)

    @property
    def temporal(self) -> CausalLiuConfig:
        return CausalLiuConfig(self.receptive_field, self.num_joints, self.in_features, self.channels, self.groups,
                               self.reduction, dropout=self.dropout)


class SpatialTemporal(AMPose):
    """(B, T, J, 3) normalised 2D window [x, y, confidence] -> (B, J, 3) root-relative 3D of the newest frame.

    AMPose's modules under AMPose's names (so that its checkpoints load here), plus the temporal model."""

    Config = SpatialTemporalConfig
    needs_image = False
    INIT_FROM = ("ampose",)  # a single-frame AMPose's weights load under the same names

    def __init__(self, cfg: SpatialTemporalConfig):
        super().__init__(cfg.ampose)
        self.cfg = cfg
        if cfg.temporal_only:  # AMPose's modules, all made above: frozen (train.py optimises the rest)
            for parameter in self.parameters():
                parameter.requires_grad_(False)
        self.temporal = DilatedTrunk(cfg.temporal, cfg.num_joints * cfg.in_features)
        self.to_tokens = nn.Linear(cfg.channels, cfg.num_joints * cfg.dim)
        # No motion tokens to start with: the model starts as the AMPose it is given (or as AMPose's own start).
        nn.init.zeros_(self.to_tokens.weight)
        nn.init.zeros_(self.to_tokens.bias)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        b, t, j, f = window_shape(window, self.cfg.receptive_field)

        motion = self.temporal.encode(window, window.reshape(b, t, j * f).transpose(1, 2).unsqueeze(2))
        motion_tokens = self.to_tokens(motion.flatten(1)).view(b, j, self.cfg.dim)
        return self.decode(self.embed(window[:, -1]) + self.joint_embedding + motion_tokens)


MODEL = SpatialTemporal
