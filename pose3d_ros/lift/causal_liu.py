# Liu et al., "Enhanced 3D Human Pose Estimation from Videos by Using Attention-Based Neural Network with Dilated Convolutions", IJCV 2021  # noqa: E501
"""Attention + multi-scale dilated-convolution lifter of the paper above, in causal single-output form.

A window of T = 3**num_stages frames (oldest first) gives the root-relative 3D pose of its NEWEST frame.
Every stage is a width-3 convolution with stride 3 (VideoPose3D's strided "single output frame" form):
the groups of three frames end on the newest frame, residuals keep the last frame of each group, and the
temporal attention compares every frame with the newest one.

Figure, top to bottom:
  2D window (B, T, 17, 3) --cosine similarity to newest frame--> frame scores (B, T)
  expand: separable conv /3 ............................................. (B, C, T/3)
  multi-scale input: frames subsampled at stride 3**s, separable conv /3 .. (B, C, T/3**(s+1))
  block b = 1..S-1: + multi-scale input, x temporal attention, kernel attention /3, 1x1 conv, + residual
  head: 1x1 conv -> (B, 17, 3), pelvis moved to the origin

Features run as (B, C, 1, T) images through 2D convolutions of height 1: the same arithmetic and parameters
as 1D ones, but ONNX Runtime's CPU kernels for 2D convolution (NCHWc, batch-norm folded in) are several
times faster, most of all for the depthwise convs that dominate this network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pose3d_ros.lift.architectures import window_shape


@dataclass(frozen=True)
class CausalLiuConfig:
    receptive_field: int = 81
    num_joints: int = 17
    in_features: int = 3  # x, y, confidence: the confidence lets the model tell a dropped joint from one at the root
    channels: int = 128
    groups: int = 8  # grouped pointwise convs in the kernel-attention branches
    reduction: int = 32  # width of the selective-kernel bottleneck
    dilations: tuple[int, ...] = (1, 2, 3)
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.receptive_field not in (27, 81, 243):
            raise ValueError(f"receptive_field {self.receptive_field} not supported; expected 27, 81 or 243")
        object.__setattr__(self, "dilations", tuple(self.dilations))

    @property
    def num_stages(self) -> int:
        return round(math.log(self.receptive_field, 3))


def mish(x: torch.Tensor) -> torch.Tensor:
    """x * tanh(softplus(x)) written with one exp: ONNX Runtime's Softplus kernel costs more than all the convs."""
    n = torch.exp(x.clamp(max=20.0))
    w = n * (n + 2.0)
    return x * w / (w + 2.0)


class TimeConv(nn.Conv1d):
    """A 1D convolution over (B, C, 1, T) features, computed as a 2D one of height 1; parameters as nn.Conv1d's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight.unsqueeze(2), self.bias, (1, self.stride[0]), 0, (1, self.dilation[0]),
                        self.groups)


class SeparableConv(nn.Module):
    """Depthwise stride-3 conv then pointwise conv, each batch-normalised: (B, Cin, 1, L) -> (B, Cout, 1, L/3)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.depthwise = TimeConv(in_channels, in_channels, 3, stride=3, groups=in_channels, bias=False)
        self.depthwise_bn = nn.BatchNorm2d(in_channels)
        self.pointwise = TimeConv(in_channels, out_channels, 1, bias=False)
        self.pointwise_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_bn(self.pointwise(self.depthwise_bn(self.depthwise(x))))


class KernelAttention(nn.Module):
    """Dilated depthwise branches (d = 1, 2, 3) fused by a selective-kernel softmax: (B, C, 1, L) -> (B, C, 1, L/3).

    Branch d reads frames (t - 2d, t - d, t) for the last frame t of each group of three; frames before
    the window repeat its first frame (causal replicate padding of 2d - 2).
    """

    def __init__(self, channels: int, groups: int, reduction: int, dilations: tuple[int, ...]):
        super().__init__()
        self.dilations = dilations
        self.branches = nn.ModuleList(
            nn.Sequential(
                TimeConv(channels, channels, 3, stride=3, dilation=d, groups=channels, bias=False),
                nn.BatchNorm2d(channels),
                TimeConv(channels, channels, 1, groups=groups, bias=False),
                nn.BatchNorm2d(channels),
            )
            for d in dilations
        )
        self.squeeze = nn.Linear(channels, reduction)
        self.select = nn.Linear(reduction, channels * len(dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = torch.stack(
            [mish(branch(F.pad(x, (2 * d - 2, 0, 0, 0), mode="replicate") if d > 1 else x))
             for d, branch in zip(self.dilations, self.branches)],
            dim=1,
        )  # (B, M, C, 1, L/3)
        z = mish(self.squeeze(feats.sum(dim=1).mean(dim=(-2, -1))))
        weights = self.select(z).view(x.shape[0], len(self.dilations), -1, 1, 1).softmax(dim=1)
        return (feats * weights).sum(dim=1)


class TemporalAttention(nn.Module):
    """Frame scores (B, T) -> linear -> BN -> sigmoid: one weight per frame at a stage's resolution (B, 1, 1, L)."""

    def __init__(self, window: int, length: int):
        super().__init__()
        self.linear = nn.Linear(window, length)
        self.bn = nn.BatchNorm1d(length)

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bn(self.linear(scores)))[:, None, None]


class DilatedTrunk(nn.Module):
    """The paper's causal temporal model without its head: a window's per-frame features (B, Cin, 1, T), weighted by
    the window's own temporal attention, -> (B, C, 1, 1) features of its newest frame.

    The features are the raw 2D for CausalLiu; any per-frame encoding of the window (same T) for other models.
    """

    def __init__(self, cfg: CausalLiuConfig, in_channels: int):
        super().__init__()
        c, t, stages = cfg.channels, cfg.receptive_field, cfg.num_stages
        self.drop = nn.Dropout(cfg.dropout)
        self.expand = SeparableConv(in_channels, c)
        self.multiscale = nn.ModuleList(SeparableConv(in_channels, c) for _ in range(1, stages - 1))
        self.attention = nn.ModuleList(TemporalAttention(t, t // 3**b) for b in range(1, stages))
        self.kernel_attention = nn.ModuleList(
            KernelAttention(c, cfg.groups, cfg.reduction, cfg.dilations) for _ in range(1, stages)
        )
        self.mix = nn.ModuleList(TimeConv(c, c, 1, bias=False) for _ in range(1, stages))
        self.mix_bn = nn.ModuleList(nn.BatchNorm2d(c) for _ in range(1, stages))
        # (J*F, J*2) map from a frame's 2D window features to its x, y minus the pelvis's (joint 0) x, y.
        pick = torch.zeros(cfg.num_joints * cfg.in_features, cfg.num_joints * 2)
        for joint in range(cfg.num_joints):
            for axis in range(2):
                pick[joint * cfg.in_features + axis, joint * 2 + axis] += 1.0
                pick[axis, joint * 2 + axis] -= 1.0
        self.register_buffer("root_centred_xy", pick, persistent=False)
        # Blocks begin as identity (zero BN gain): on CPU-sized budgets this converges several times faster.
        for bn in self.mix_bn:
            nn.init.zeros_(bn.weight)

    def encode(self, window: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """window (B, T, J, F) normalised 2D, x (B, Cin, 1, T) its per-frame features -> (B, C, 1, 1)."""
        b, t, j, f = window.shape
        # Temporal attention scores: cosine similarity of each frame's root-centred 2D pose to the newest frame's.
        pose = window.reshape(b, t, j * f) @ self.root_centred_xy  # one matmul: ONNX Runtime slices x, y slowly
        scores = F.cosine_similarity(pose, pose[:, -1:], dim=-1, eps=1e-6)

        h = self.drop(mish(self.expand(x)))
        # Multi-scale input: the features subsampled at stride 3**s, keeping the last frame of each group.
        side = [self.drop(mish(conv(x[..., 3**s - 1::3**s]))) for s, conv in enumerate(self.multiscale, 1)]

        for i, (attend, kernel_attention, mix, mix_bn) in enumerate(
            zip(self.attention, self.kernel_attention, self.mix, self.mix_bn)
        ):
            if i >= 1:
                h = h + side[i - 1]
            residual = h[..., 2::3]
            h = self.drop(kernel_attention(h * attend(scores)))
            h = residual + self.drop(mish(mix_bn(mix(h))))
        return h


class CausalLiu(DilatedTrunk):
    """(B, T, J, 3) normalised 2D window [x, y, confidence] -> (B, J, 3) root-relative 3D of the newest frame."""

    Config = CausalLiuConfig
    needs_image = False

    def __init__(self, cfg: CausalLiuConfig):
        super().__init__(cfg, cfg.num_joints * cfg.in_features)
        self.cfg = cfg
        self.head = TimeConv(cfg.channels, cfg.num_joints * 3, 1)
        # The head starts at zero: a shallow net predicting all joints at the pelvis.
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        b, t, j, f = window_shape(window, self.cfg.receptive_field)
        x = window.reshape(b, t, j * f).transpose(1, 2).unsqueeze(2)  # (B, J*F, 1, T): the raw 2D
        joints = self.head(self.encode(window, x)).view(b, j, 3)
        return joints - joints[:, :1]


MODEL = CausalLiu
