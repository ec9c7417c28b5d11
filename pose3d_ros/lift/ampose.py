# Lin, Wu, Chiu, "AMPose: Alternately Mixed Global-Local Attention Model for 3D Human Pose Estimation", ICASSP 2023  # noqa: E501
"""AMPose: Transformer blocks (global: every joint attends to every joint) alternating with GCN blocks
(local: joints mix only with their skeleton neighbours), on one token per joint.

The paper lifts a single frame (receptive_field 1, trivially causal). With receptive_field T > 1 each
joint's token is embedded from its own last T frames instead (a cheap temporal variant, not in the paper);
the blocks are unchanged.

Figure, top to bottom:
  2D window (B, T, 17, 3) -> per joint: its T frames of [x, y, confidence] -> linear -> + joint embedding (B, 17, D)
  pair l = 1..L:
    Transformer block: x + MHSA(LN x) over the 17 joint tokens, then x + MLP(LN x)
    GCN block: x + GraphConv(GELU(GraphConv(LN x))) over the H36M-17 bones, learned per-edge weights, self loop
  head: LN -> linear -> (B, 17, 3), pelvis moved to the origin
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
class AMPoseConfig:
    receptive_field: int = 1  # 1 = the paper's single-frame model
    num_joints: int = 17
    in_features: int = 3  # x, y, confidence: the confidence lets the model tell a dropped joint from one at the root
    dim: int = 64
    pairs: int = 4  # alternating (Transformer block, GCN block) pairs
    heads: int = 4
    mlp_ratio: int = 2
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.receptive_field < 1:
            raise ValueError(f"receptive_field {self.receptive_field} not supported; expected an integer >= 1")
        if self.num_joints != H36M17.num_joints:
            raise ValueError(f"num_joints {self.num_joints} not supported; expected {H36M17.num_joints} "
                             "(the GCN runs over the H36M-17 skeleton)")
        if self.in_features < 1:
            raise ValueError(f"in_features {self.in_features} not supported; expected >= 1")
        if self.dim < 1 or self.dim % self.heads:
            raise ValueError(f"dim {self.dim} not supported; expected a positive multiple of heads ({self.heads})")
        if self.pairs < 1 or self.heads < 1 or self.mlp_ratio < 1:
            raise ValueError(f"pairs {self.pairs}, heads {self.heads}, mlp_ratio {self.mlp_ratio}; expected each >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout {self.dropout} not supported; expected a value in [0, 1)")


def skeleton_adjacency(num_joints: int, bones: tuple[tuple[int, int], ...]) -> torch.Tensor:
    """(J, J) bool: True on the diagonal (self loop) and for both directions of every bone."""
    adjacency = torch.eye(num_joints, dtype=torch.bool)
    for parent, child in bones:
        adjacency[parent, child] = adjacency[child, parent] = True
    return adjacency


class TransformerBlock(nn.Module):
    """Global mixing: pre-norm multi-head self-attention, then pre-norm MLP, each with a residual."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = mlp(dim, mlp_ratio)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attention(self.norm1(x)))
        return x + self.drop(self.mlp(self.norm2(x)))


class GraphConv(nn.Module):
    """Semantic graph convolution (Zhao et al. 2019): each joint sums its skeleton neighbours' features, weighted by
    learned per-edge weights (softmax over the joint's neighbours and itself); the self loop has its own weight
    matrix. (N, J, Din) -> (N, J, Dout)."""

    def __init__(self, in_dim: int, out_dim: int, adjacency: torch.Tensor):
        super().__init__()
        self.register_buffer("adjacency", adjacency, persistent=False)
        self.register_buffer("eye", torch.eye(adjacency.shape[0]), persistent=False)
        self.edge_logits = nn.Parameter(torch.zeros(adjacency.shape))  # zeros: start as the plain neighbour mean
        self.self_weight = nn.Linear(in_dim, out_dim, bias=False)
        self.neighbour_weight = nn.Linear(in_dim, out_dim, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_dim))

    def edge_weights(self) -> torch.Tensor:
        """(J, J) row-stochastic mixing matrix: zero wherever the skeleton has no bone (and no self loop)."""
        return self.edge_logits.masked_fill(~self.adjacency, float("-inf")).softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.edge_weights()
        own = (weights * self.eye).sum(dim=-1, keepdim=True)  # (J, 1) self-loop weights
        neighbours = weights * (1.0 - self.eye)
        return own * self.self_weight(x) + neighbours @ self.neighbour_weight(x) + self.bias


class GCNBlock(nn.Module):
    """Local mixing: pre-norm, two graph convolutions with a GELU between them, residual."""

    def __init__(self, dim: int, adjacency: torch.Tensor, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.gcn1 = GraphConv(dim, dim, adjacency)
        self.gcn2 = GraphConv(dim, dim, adjacency)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.gcn2(F.gelu(self.gcn1(self.norm(x)))))


class AMPose(nn.Module):
    """(B, T, J, 3) normalised 2D window [x, y, confidence] -> (B, J, 3) root-relative 3D of the newest frame."""

    Config = AMPoseConfig
    needs_image = False

    def __init__(self, cfg: AMPoseConfig):
        super().__init__()
        self.cfg = cfg
        adjacency = skeleton_adjacency(cfg.num_joints, H36M17.bones)
        self.embed = nn.Linear(cfg.receptive_field * cfg.in_features, cfg.dim)
        self.joint_embedding = nn.Parameter(0.02 * torch.randn(cfg.num_joints, cfg.dim))
        self.drop = nn.Dropout(cfg.dropout)
        self.transformer_blocks = nn.ModuleList(
            TransformerBlock(cfg.dim, cfg.heads, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.pairs))
        self.gcn_blocks = nn.ModuleList(GCNBlock(cfg.dim, adjacency, cfg.dropout) for _ in range(cfg.pairs))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, 3)
        # Start as the identity network predicting all joints at the pelvis: every residual branch ends in a zero
        # layer and the head is zero; on CPU-sized budgets this converges several times faster than random init.
        for block in self.transformer_blocks:
            for last in (block.attention.proj, block.mlp[-1]):
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)
        for block in self.gcn_blocks:
            nn.init.zeros_(block.gcn2.self_weight.weight)
            nn.init.zeros_(block.gcn2.neighbour_weight.weight)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        b, t, j, f = window_shape(window, self.cfg.receptive_field)

        # One token per joint from its own T frames (T = 1: the newest frame's x, y, confidence).
        tokens = window.permute(0, 2, 1, 3).reshape(b, j, t * f)
        return self.decode(self.embed(tokens) + self.joint_embedding)

    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Joint tokens (B, J, D) -> the alternating blocks and the head -> (B, J, 3), pelvis at the origin."""
        x = self.drop(tokens)
        for transformer, gcn in zip(self.transformer_blocks, self.gcn_blocks):
            x = gcn(transformer(x))
        joints = self.head(self.norm(x))
        return joints - joints[:, :1]


MODEL = AMPose
