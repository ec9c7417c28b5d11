# Pavllo et al., "3D human pose estimation in video with temporal convolutions and semi-supervised training", CVPR 2019  # noqa: E501
"""VideoPose3D's temporal convolutional lifter in its causal form, the established baseline for causal lifting.

A window of T = 3**num_stages frames (oldest first) gives the root-relative 3D pose of its NEWEST frame.
This is the paper's single-output training form ("optimised" model: width-3 convolutions with stride 3
instead of dilation) with the causal shift: every group of three frames ends on its newest frame and the
residuals keep that frame, so no future frame enters.

Figure, top to bottom:
  2D window (B, T, 17, 3) -> expand: conv /3, BN, ReLU, dropout ............ (B, C, T/3)
  block b = 1..S-1: conv /3, BN, ReLU, dropout; 1x1 conv, BN, ReLU, dropout; + last frame of each group
  shrink: 1x1 conv -> (B, 17, 3), pelvis moved to the origin
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from pose3d_ros.lift.architectures import window_shape


@dataclass(frozen=True)
class VideoPose3DConfig:
    receptive_field: int = 81
    num_joints: int = 17
    in_features: int = 3  # x, y, confidence (the paper feeds x, y; the confidence marks dropped joints)
    channels: int = 1024
    dropout: float = 0.25

    def __post_init__(self) -> None:
        if self.receptive_field not in (27, 81, 243):
            raise ValueError(f"receptive_field {self.receptive_field} not supported; expected 27, 81 or 243")

    @property
    def num_stages(self) -> int:
        return round(math.log(self.receptive_field, 3))


class VideoPose3D(nn.Module):
    """(B, T, J, 3) normalised 2D window [x, y, confidence] -> (B, J, 3) root-relative 3D of the newest frame."""

    Config = VideoPose3DConfig
    needs_image = False

    def __init__(self, cfg: VideoPose3DConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.drop = nn.Dropout(cfg.dropout)
        self.expand = nn.Conv1d(cfg.num_joints * cfg.in_features, c, 3, stride=3, bias=False)
        self.expand_bn = nn.BatchNorm1d(c, momentum=0.1)
        self.strided = nn.ModuleList(nn.Conv1d(c, c, 3, stride=3, bias=False) for _ in range(1, cfg.num_stages))
        self.strided_bn = nn.ModuleList(nn.BatchNorm1d(c, momentum=0.1) for _ in range(1, cfg.num_stages))
        self.pointwise = nn.ModuleList(nn.Conv1d(c, c, 1, bias=False) for _ in range(1, cfg.num_stages))
        self.pointwise_bn = nn.ModuleList(nn.BatchNorm1d(c, momentum=0.1) for _ in range(1, cfg.num_stages))
        self.shrink = nn.Conv1d(c, cfg.num_joints * 3, 1)
        # Zero head, as for the other lifters here: every model starts at "all joints at the pelvis" and
        # the comparison measures architectures, not initialisations.
        nn.init.zeros_(self.shrink.weight)
        nn.init.zeros_(self.shrink.bias)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        b, t, j, f = window_shape(window, self.cfg.receptive_field)
        x = window.reshape(b, t, j * f).transpose(1, 2)  # (B, J*F, T)
        x = self.drop(torch.relu(self.expand_bn(self.expand(x))))
        for conv, conv_bn, pointwise, pointwise_bn in zip(self.strided, self.strided_bn, self.pointwise,
                                                          self.pointwise_bn):
            residual = x[:, :, 2::3]  # causal: the newest frame of each group of three
            x = self.drop(torch.relu(conv_bn(conv(x))))
            x = residual + self.drop(torch.relu(pointwise_bn(pointwise(x))))
        joints = self.shrink(x).view(b, j, 3)
        return joints - joints[:, :1]


MODEL = VideoPose3D
