# Zhou, Yin, Li, "Lifting by Image -- Leveraging Image Cues for Accurate 3D Human Pose Estimation", AAAI 2024
"""Lifting by Image: 2D pose + the person's image crop -> root-relative 3D pose of one frame.

Figure, top to bottom (B people, J = 17 joints, N image tokens, D channels):
  image crop (B, 3, S, S) --small strided conv encoder--> patch tokens (B, N = (S/8)**2, D) + patch position
  newest 2D pose (B, J, 3) [x, y, confidence] --linear--> joint tokens (B, J, D) + joint identity
  stage 1: 3 layers of [self-attention over joints, cross-attention joints -> patches, FFN]; the middle one is
           pose-guided: each joint's attention logits drop with its squared distance to the patch, so far
           patches have bounded influence  ............................................. -> head 1 -> 3D
  adaptive feature selection: keep the top keep_ratio of patches by the attention stage 1 gave them
  stage 2 (stage 1 and the encoder frozen): 3 more layers over the kept patches -> head 2 adds a correction

Departures from the paper, all for a CPU-trainable model without pretrained weights or real 3D-labelled
images: three strided convs and a 1x1 projection, trained from scratch on 64 px crops (8x8 patches of 8 px),
replace HRNet-w32 on 256x192 crops; the pose-guided bound is a learned Gaussian-in-distance attention bias
(never wider than PoseGuide.MIN_SCALE allows); patches are ranked by the cross-attention they received,
summed over stage 1's layers, heads and joints; the loss is MPJPE (the paper: MSE).
A joint's patch-grid position comes from its normalised 2D input through the crop geometry (lift/crops.py).

Limits: the only 3D-labelled images are synthetic renders (data/render.py): cartoon capsule bodies on random
backgrounds. The cues an image can add to 2D keypoints -- which limb is in front (occlusion), perspective
limb width, facing direction (the face) -- are in them; real clothing, lighting, texture, hands, feet and body
shape are not, and their darkening with depth is a training aid real images lack. Expect a domain gap on
camera images: the image branch may help less there than on renders, or mislead; `pose3d-ros compare`
measures it on Pose2Sim's real video beside the held-out renders. The image gives no absolute depth (outputs
stay root-relative), and a crop cut around badly wrong 2D may not show the joint at all. Numbers from this
model are not a reproduction of the paper's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pose3d_ros.lift.architectures import window_shape
from pose3d_ros.lift.crops import CROP_EXTENT


@dataclass(frozen=True)
class LiftingByImageConfig:
    receptive_field: int = 1  # single frame: the window's newest frame
    num_joints: int = 17
    in_features: int = 3  # x, y, confidence
    crop_size: int = 64  # image crop side (pixels); patches are 8 px, so 8x8 = 64 tokens at 64
    stage: int = 1  # 1: encoder + stage 1; 2: adds stage 2 and freezes everything of stage 1
    keep_ratio: float = 0.3  # share of image tokens stage 2 reads
    dim: int = 64
    heads: int = 4
    ffn_ratio: int = 2
    encoder_channels: tuple[int, ...] = (16, 32, 64)  # one stride-2 conv each: 3 of them make 8 px patches
    dropout: float = 0.0  # the renderer's data is unlimited

    def __post_init__(self) -> None:
        object.__setattr__(self, "encoder_channels", tuple(self.encoder_channels))
        if self.receptive_field != 1:
            raise ValueError(f"receptive_field {self.receptive_field} not supported; Lifting by Image is "
                             "single-frame: expected 1")
        if self.stage not in (1, 2):
            raise ValueError(f"stage {self.stage} unknown; expected 1 or 2")
        if self.crop_size % self.patch_size:
            raise ValueError(f"crop_size {self.crop_size} is not a multiple of the {self.patch_size} px patches")
        if not 0.0 < self.keep_ratio <= 1.0:
            raise ValueError(f"keep_ratio {self.keep_ratio} outside (0, 1]")

    @property
    def patch_size(self) -> int:
        return 2 ** len(self.encoder_channels)

    @property
    def grid(self) -> int:
        return self.crop_size // self.patch_size

    @property
    def kept_tokens(self) -> int:
        return max(1, math.ceil(self.keep_ratio * self.grid**2 - 1e-9))


class Attention(nn.Module):
    """Multi-head attention (B, Q, D) x (B, K, D) -> ((B, Q, D), weights (B, H, Q, K)); bias added to logits."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor, bias: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        b, q, d = x.shape
        h = self.heads
        query = self.query(x).view(b, q, h, d // h).transpose(1, 2)
        key, value = self.key_value(context).view(b, -1, 2, h, d // h).permute(2, 0, 3, 1, 4)
        logits = query @ key.transpose(-1, -2) * (d // h) ** -0.5
        weights = (logits if bias is None else logits + bias).softmax(dim=-1)
        return self.out((weights @ value).transpose(1, 2).reshape(b, q, d)), weights


class Layer(nn.Module):
    """Pre-norm [self-attention over joints, cross-attention joints -> image tokens, FFN], each residual."""

    def __init__(self, cfg: LiftingByImageConfig):
        super().__init__()
        d = cfg.dim
        self.self_norm, self.cross_norm, self.context_norm, self.ffn_norm = (nn.LayerNorm(d) for _ in range(4))
        self.self_attention = Attention(d, cfg.heads)
        self.cross_attention = Attention(d, cfg.heads)
        self.ffn = nn.Sequential(nn.Linear(d, cfg.ffn_ratio * d), nn.GELU(), nn.Linear(cfg.ffn_ratio * d, d))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, joints: torch.Tensor, image: torch.Tensor, bias: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """joints (B, J, D), image (B, N, D), bias (B, H or 1, J, N) -> (joints, cross-attention (B, H, J, N))."""
        x = self.self_norm(joints)
        joints = joints + self.drop(self.self_attention(x, x)[0])
        attended, weights = self.cross_attention(self.cross_norm(joints), self.context_norm(image), bias)
        joints = joints + self.drop(attended)
        return joints + self.drop(self.ffn(self.ffn_norm(joints))), weights


class PoseGuide(nn.Module):
    """Attention bias -scale_h * (squared patch distance from joint to patch): (B, J, 3) -> (B, H, J, N).

    Joint positions on the patch grid follow from the crop geometry: normalised (x, y) sits at crop pixel
    (xy + CROP_EXTENT) * S / (2 * CROP_EXTENT). Missing joints (confidence 0) get no bias.
    """

    MIN_SCALE = 0.1  # per squared patch: a patch 6 patches away keeps at most e^-3.6 ~ 3% of a near one's weight

    def __init__(self, cfg: LiftingByImageConfig):
        super().__init__()
        self.to_grid = cfg.crop_size / (2 * CROP_EXTENT * cfg.patch_size)
        self.offset = CROP_EXTENT * self.to_grid + 0.5 / cfg.patch_size - 0.5  # patch centres at integers
        rows, cols = torch.meshgrid(torch.arange(cfg.grid), torch.arange(cfg.grid), indexing="ij")
        self.register_buffer("patch_xy", torch.stack([cols, rows], -1).view(1, 1, -1, 2).float(), persistent=False)
        self.raw_scale = nn.Parameter(torch.zeros(cfg.heads, 1, 1))  # softplus(0) + MIN_SCALE ~ 0.8 at init

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        grid_xy = pose[:, :, None, :2] * self.to_grid + self.offset  # (B, J, 1, 2)
        distance_sq = (grid_xy - self.patch_xy).square().sum(-1) * (pose[:, :, 2:] > 0)  # (B, J, N)
        return -(F.softplus(self.raw_scale) + self.MIN_SCALE) * distance_sq[:, None]


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """Kernel 4, stride 2, padding 1: output pixel i is centred on input pixels 2i, 2i + 1 (patches stay aligned)."""
    return nn.Sequential(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.GELU())


class LiftingByImage(nn.Module):
    """(B, 1, J, 3) normalised 2D [x, y, confidence] + (B, 3, S, S) crop in [0, 1] -> (B, J, 3) root-relative 3D."""

    Config = LiftingByImageConfig
    needs_image = True

    def __init__(self, cfg: LiftingByImageConfig):
        super().__init__()
        self.cfg = cfg
        d, channels = cfg.dim, (3, *cfg.encoder_channels)
        self.encoder = nn.Sequential(
            *(conv_block(cin, cout) for cin, cout in zip(channels, channels[1:])),
            nn.Conv2d(channels[-1], d, 1),
        )
        self.patch_position = nn.Parameter(0.02 * torch.randn(1, cfg.grid**2, d))
        self.joint_embed = nn.Linear(cfg.in_features, d)
        self.joint_identity = nn.Parameter(0.02 * torch.randn(1, cfg.num_joints, d))
        self.pose_guide = PoseGuide(cfg)
        self.stage1 = nn.ModuleList(Layer(cfg) for _ in range(3))
        self.norm1 = nn.LayerNorm(d)
        self.head1 = nn.Linear(d, 3)
        nn.init.zeros_(self.head1.weight)  # start at "every joint at the pelvis": fast early training on CPU
        nn.init.zeros_(self.head1.bias)
        if cfg.stage == 2:
            self.frozen = list(self.children())  # before stage 2's modules exist: everything of stage 1
            for p in self.parameters():
                p.requires_grad_(False)
            self.stage2 = nn.ModuleList(Layer(cfg) for _ in range(3))
            self.norm2 = nn.LayerNorm(d)
            self.head2 = nn.Linear(d, 3)
            nn.init.zeros_(self.head2.weight)  # stage 2 starts exactly at stage 1's prediction
            nn.init.zeros_(self.head2.bias)
            self.train()

    def train(self, mode: bool = True) -> LiftingByImage:
        """Frozen stage-1 modules stay in eval mode: batch-norm statistics and dropout stay as trained."""
        super().train(mode)
        for module in getattr(self, "frozen", ()):
            module.eval()
        return self

    def forward(self, window: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        b, t, j, f = window_shape(window, self.cfg.receptive_field)
        pose = window[:, -1]

        # Image tokens: (B, D, G, G) -> (B, N, D), row-major patches, plus their learned position.
        tokens = self.encoder((image - 0.5) * 4.0).flatten(2).transpose(1, 2) + self.patch_position
        joints = self.joint_embed(pose) + self.joint_identity

        # Stage 1: the middle layer is the pose-guided one; attention received decides which patches stage 2 keeps.
        received = torch.zeros_like(tokens[:, :, 0])
        for i, layer in enumerate(self.stage1):
            joints, weights = layer(joints, tokens, self.pose_guide(pose) if i == 1 else None)
            received = received + weights.sum(dim=(1, 2))
        out = self.head1(self.norm1(joints))

        if self.cfg.stage == 2:
            # Adaptive feature selection: the top keep_ratio of patches by attention received.
            keep = received.topk(self.cfg.kept_tokens, dim=1).indices  # (B, K)
            kept = tokens.gather(1, keep[:, :, None].expand(-1, -1, tokens.shape[-1]))
            for layer in self.stage2:
                joints = layer(joints, kept)[0]
            out = out + self.head2(self.norm2(joints))
        return out - out[:, :1]


MODEL = LiftingByImage
