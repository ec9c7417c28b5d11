# Xu et al., "Optimizing Local-Global Dependencies for Accurate 3D Human Pose Estimation" (SSR-STF), 2024
"""SSR-STF in causal form: a global spatio-temporal Transformer stream and a local SSRFormer stream over a
(T, 17) grid of joint tokens, fused adaptively after every layer; the pose of the NEWEST frame is read out.

Causality: every operation is either per token, within one frame (across joints), or along time with a
causal mask / past-only taps, so frame t's features never depend on frames after t (``frame_joints``
gives every frame's pose to check this). The published model is a non-causal 243-frame sequence model.

Skeleton selective refine attention (SSRA), the local part: joints are read in the order of a walk along
the kinematic chains (pelvis -> right leg -> back -> left leg -> back -> spine -> head -> back -> arms ...,
every bone once in each direction), so a 1D depthwise convolution over the walk mixes only joints that are
near each other on the skeleton. A small depthwise conv and a dilated one on top of it decompose a large
kernel (as in VAN's large-kernel attention); a softmax per frame and channel selects between the two
receptive fields (as in SKNet), a pointwise layer turns the result into an attention map that multiplies
the features.

Figure, top to bottom:
  2D window (B, T, 17, 3) -> linear -> + joint embedding + frame embedding ............. tokens (B, T, 17, D)
  layer l = 1..L, both streams read the same tokens:
    global stream:  x + MHSA over the 17 joints of each frame
                    x + causal MHSA over the frames of each joint (frame t attends to frames <= t)
                    x + MLP
    SSRFormer:      x + proj(SSRA(GELU(linear(LN x))))  per frame, over the skeleton walk
                    x + causal depthwise conv over the frames of each joint (frames <= t)
                    x + MLP
    fusion:         per token softmax(linear([global, local])) weights the two streams
  head: newest frame's tokens -> LN -> linear -> (B, 17, 3), pelvis moved to the origin
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.architectures import window_shape
from pose3d_ros.lift.attention import Attention, mlp


@dataclass(frozen=True)
class SSRSTFConfig:
    receptive_field: int = 27
    num_joints: int = 17
    in_features: int = 3  # x, y, confidence: the confidence lets the model tell a dropped joint from one at the root
    dim: int = 32
    layers: int = 2
    heads: int = 2
    mlp_ratio: int = 2
    kernel: int = 3  # SSRA: depthwise kernel over the skeleton walk (3 = one bone each side)
    dilated_kernel: int = 3  # SSRA: dilated depthwise kernel applied on top of the first
    dilation: int = 3  # together with kernel 3: 9 walk positions, four bones each side
    select_reduction: int = 8  # width of the selective-kernel bottleneck
    temporal_kernel: int = 3  # SSRFormer's causal depthwise conv over frames
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.receptive_field < 1:
            raise ValueError(f"receptive_field {self.receptive_field} not supported; expected an integer >= 1 "
                             "(27 by default; 81 runs about 3x slower)")
        if self.num_joints != H36M17.num_joints:
            raise ValueError(f"num_joints {self.num_joints} not supported; expected {H36M17.num_joints} "
                             "(SSRA walks the H36M-17 skeleton)")
        if self.in_features < 1:
            raise ValueError(f"in_features {self.in_features} not supported; expected >= 1")
        if self.heads < 1 or self.dim < 1 or self.dim % self.heads:
            raise ValueError(f"dim {self.dim} with heads {self.heads} not supported; expected dim a positive "
                             "multiple of heads")
        for name in ("kernel", "dilated_kernel"):
            if getattr(self, name) < 1 or getattr(self, name) % 2 == 0:
                raise ValueError(f"{name} {getattr(self, name)} not supported; expected an odd integer >= 1")
        for name in ("layers", "mlp_ratio", "dilation", "select_reduction", "temporal_kernel"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} {getattr(self, name)} not supported; expected an integer >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout {self.dropout} not supported; expected a value in [0, 1)")


def skeleton_walk(num_joints: int, bones: tuple[tuple[int, int], ...], root: int = 0) -> list[int]:
    """Joint indices visited by a depth-first walk from ``root`` that returns along every bone: 2 * bones + 1 long,
    consecutive entries are always joined by a bone."""
    children: list[list[int]] = [[] for _ in range(num_joints)]
    for parent, child in bones:
        children[parent].append(child)
    walk: list[int] = []

    def visit(joint: int) -> None:
        walk.append(joint)
        for child in children[joint]:
            visit(child)
            walk.append(joint)

    visit(root)
    return walk


class GlobalBlock(nn.Module):
    """Spatial attention within each frame, causal temporal attention per joint, MLP: (B, T, J, D) -> same, or
    (B, 1, J, D) for the newest frame only."""

    def __init__(self, cfg: SSRSTFConfig):
        super().__init__()
        self.norm_spatial = nn.LayerNorm(cfg.dim)
        self.spatial = Attention(cfg.dim, cfg.heads)
        self.norm_temporal = nn.LayerNorm(cfg.dim)
        self.temporal = Attention(cfg.dim, cfg.heads)
        self.norm_mlp = nn.LayerNorm(cfg.dim)
        self.mlp = mlp(cfg.dim, cfg.mlp_ratio)
        self.drop = nn.Dropout(cfg.dropout)
        causal = torch.full((cfg.receptive_field, cfg.receptive_field), float("-inf")).triu(diagonal=1)
        self.register_buffer("causal_mask", causal, persistent=False)  # 0 on and below the diagonal

    def forward(self, x: torch.Tensor, newest_only: bool = False) -> torch.Tensor:
        b, t, j, d = x.shape
        x = x + self.drop(self.spatial(self.norm_spatial(x).reshape(b * t, j, d)).view(b, t, j, d))
        per_joint = self.norm_temporal(x).transpose(1, 2).reshape(b * j, t, d)
        if newest_only:  # the newest frame may attend to every frame: no mask
            x = x[:, -1:] + self.drop(self.temporal(per_joint, last_query=True).view(b, 1, j, d))
        else:
            x = x + self.drop(self.temporal(per_joint, self.causal_mask).view(b, j, t, d).transpose(1, 2))
        return x + self.drop(self.mlp(self.norm_mlp(x)))


def tap_matrices(sources: list[int], num_inputs: int, kernel: int, dilation: int = 1,
                 causal: bool = False) -> torch.Tensor:
    """(kernel, P, num_inputs) 0/1 matrices of a 1D convolution over a sequence of P positions, position p
    holding input token ``sources[p]``: tap i of output p reads position p + (i - centre) * dilation, centre =
    kernel // 2, or kernel - 1 when causal (past positions only); positions past either end read zero."""
    taps = torch.zeros(kernel, len(sources), num_inputs)
    centre = kernel - 1 if causal else kernel // 2
    for i in range(kernel):
        for p in range(len(sources)):
            q = p + (i - centre) * dilation
            if 0 <= q < len(sources):
                taps[i, p, sources[q]] = 1.0
    return taps


class TokenConv(nn.Module):
    """Depthwise 1D convolution given by tap matrices (K, P, S), no bias, as one (P, S) matrix per channel: applied
    to channels-first (D, S, M) tokens by one batched matmul, which ONNX Runtime runs several times faster than a
    grouped Conv on these short sequences."""

    def __init__(self, taps: torch.Tensor, dim: int):
        super().__init__()
        kernel, *self.shape = taps.shape
        self.register_buffer("taps", taps.flatten(1), persistent=False)  # (K, P * S)
        self.weight = nn.Parameter(torch.empty(dim, kernel).uniform_(-1, 1) / kernel**0.5)

    def matrices(self) -> torch.Tensor:
        """(D, P, S): channel d's convolution as a matrix."""
        return (self.weight @ self.taps).view(-1, *self.shape)


class SSRA(nn.Module):
    """Skeleton selective refine attention on one frame's joints: (N, J, D) -> (N, J, D) attention map x features."""

    def __init__(self, cfg: SSRSTFConfig):
        super().__init__()
        walk = skeleton_walk(cfg.num_joints, H36M17.bones)
        # Back from walk positions to joints: the mean over each joint's visits, as a (J, L) matrix.
        visits = F.one_hot(torch.tensor(walk), cfg.num_joints).float().T
        self.register_buffer("unwalk", visits / visits.sum(dim=1, keepdim=True), persistent=False)
        d = cfg.dim
        self.local = TokenConv(tap_matrices(walk, cfg.num_joints, cfg.kernel), d)  # joints -> walk positions
        self.wide = TokenConv(tap_matrices(list(range(len(walk))), len(walk), cfg.dilated_kernel, cfg.dilation), d)
        self.squeeze = nn.Linear(d, cfg.select_reduction)
        self.select = nn.Linear(cfg.select_reduction, d)
        self.pointwise = nn.Linear(d, d)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        # Walk, small conv, dilated conv on top (a decomposed large kernel), mean back to joints: per channel, the
        # whole chain is one (J, J) matrix for each branch (constant-folded in the exported graph).
        walk_local = self.local.matrices()  # (D, L, J)
        per_channel = u.permute(2, 1, 0)  # (D, J, N)
        local = self.unwalk @ walk_local @ per_channel  # (D, J, N)
        wide = self.unwalk @ self.wide.matrices() @ walk_local @ per_channel
        # Selective kernel per frame and channel: a softmax over two branches is a sigmoid of their logit difference.
        z = F.gelu(self.squeeze((local + wide).mean(dim=1).T))  # (N, R)
        pick_local = torch.sigmoid(self.select(z)).T.unsqueeze(1)  # (D, 1, N)
        attention = self.pointwise((wide + pick_local * (local - wide)).permute(2, 1, 0))
        return attention * u


class SSRFormerBlock(nn.Module):
    """SSRA within each frame, causal depthwise conv over each joint's frames, MLP: (B, T, J, D) -> same, or
    (B, 1, J, D) for the newest frame only."""

    def __init__(self, cfg: SSRSTFConfig):
        super().__init__()
        frames = list(range(cfg.receptive_field))
        self.cfg = cfg
        self.norm_ssra = nn.LayerNorm(cfg.dim)
        self.enter = nn.Linear(cfg.dim, cfg.dim)
        self.ssra = SSRA(cfg)
        self.proj = nn.Linear(cfg.dim, cfg.dim)
        self.norm_temporal = nn.LayerNorm(cfg.dim)
        self.temporal = TokenConv(tap_matrices(frames, len(frames), cfg.temporal_kernel, causal=True), cfg.dim)
        self.norm_mlp = nn.LayerNorm(cfg.dim)
        self.mlp = mlp(cfg.dim, cfg.mlp_ratio)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, newest_only: bool = False) -> torch.Tensor:
        if newest_only:
            x = x[:, -self.cfg.temporal_kernel:]  # all the newest frame's causal conv reads
        b, t, j, d = x.shape
        u = F.gelu(self.enter(self.norm_ssra(x).reshape(b * t, j, d)))
        x = x + self.drop(self.proj(self.ssra(u)).view(b, t, j, d))
        out = 1 if newest_only else t
        # Causal taps: output frame f reads frames f - k + 1 .. f; the newest output is the matrices' last row.
        per_channel = self.norm_temporal(x).permute(3, 1, 0, 2).reshape(d, t, b * j)
        past_only = self.temporal.matrices()[:, -out:, -t:] @ per_channel  # (D, out, B * J)
        x = x[:, -out:] + self.drop(past_only.view(d, out, b, j).permute(2, 1, 3, 0))
        return x + self.drop(self.mlp(self.norm_mlp(x)))


class Fusion(nn.Module):
    """Adaptive fusion: per token, softmax weights for the two streams from both streams' features (a softmax over
    two is a sigmoid of the logit difference, which is what the linear layer gives)."""

    def __init__(self, dim: int):
        super().__init__()
        self.weigh_global = nn.Linear(dim, 1)  # a linear layer on [global, local], in two halves
        self.weigh_local = nn.Linear(dim, 1, bias=False)
        nn.init.zeros_(self.weigh_global.weight)  # start as the plain mean of the streams
        nn.init.zeros_(self.weigh_global.bias)
        nn.init.zeros_(self.weigh_local.weight)

    def forward(self, glob: torch.Tensor, local: torch.Tensor) -> torch.Tensor:
        pick_global = torch.sigmoid(self.weigh_global(glob) + self.weigh_local(local))
        return local + pick_global * (glob - local)


class SSRSTF(nn.Module):
    """(B, T, J, 3) normalised 2D window [x, y, confidence] -> (B, J, 3) root-relative 3D of the newest frame."""

    Config = SSRSTFConfig
    needs_image = False

    def __init__(self, cfg: SSRSTFConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Linear(cfg.in_features, cfg.dim)
        self.joint_embedding = nn.Parameter(0.02 * torch.randn(cfg.num_joints, cfg.dim))
        self.frame_embedding = nn.Parameter(0.02 * torch.randn(cfg.receptive_field, 1, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.global_blocks = nn.ModuleList(GlobalBlock(cfg) for _ in range(cfg.layers))
        self.ssr_blocks = nn.ModuleList(SSRFormerBlock(cfg) for _ in range(cfg.layers))
        self.fusions = nn.ModuleList(Fusion(cfg.dim) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 3)
        # Start as the identity network predicting all joints at the pelvis: every residual branch ends in a zero
        # layer and the head is zero; on CPU-sized budgets this converges several times faster than random init.
        for block in self.global_blocks:
            for last in (block.spatial.proj, block.temporal.proj, block.mlp[-1]):
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)
        for block in self.ssr_blocks:
            for last in (block.proj, block.mlp[-1]):
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)
            nn.init.zeros_(block.temporal.weight)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def features(self, window: torch.Tensor, newest_only: bool = False) -> torch.Tensor:
        """(B, T, J, F) window -> (B, T, J, D) tokens after the last layer, frame t read from frames <= t only;
        (B, 1, J, D) with ``newest_only``: the last layer then computes the newest frame alone (same values)."""
        window_shape(window, self.cfg.receptive_field)
        x = self.drop(self.embed(window) + self.joint_embedding + self.frame_embedding)
        for i, (glob, ssr, fuse) in enumerate(zip(self.global_blocks, self.ssr_blocks, self.fusions)):
            last = newest_only and i == self.cfg.layers - 1
            x = fuse(glob(x, last), ssr(x, last))
        return x

    def frame_joints(self, window: torch.Tensor) -> torch.Tensor:
        """(B, T, J, F) window -> (B, T, J, 3) root-relative 3D of every frame (frame t from frames <= t)."""
        joints = self.head(self.norm(self.features(window)))
        return joints - joints[:, :, :1]

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        joints = self.head(self.norm(self.features(window, newest_only=True)[:, -1]))
        return joints - joints[:, :1]


MODEL = SSRSTF
