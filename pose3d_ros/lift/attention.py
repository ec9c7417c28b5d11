"""Transformer pieces shared by the attention lifters (AMPose, SSR-STF), written out for a clean ONNX graph."""

from __future__ import annotations

import torch
from torch import nn


class Attention(nn.Module):
    """Multi-head self-attention over a token sequence: (N, S, D), optional additive (S, S) mask."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, last_query: bool = False) -> torch.Tensor:
        """(N, S, D) -> (N, S, D), or (N, 1, D) for the last position only when ``last_query``."""
        n, s, d = x.shape
        q, k, v = self.qkv(x).view(n, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (N, H, S, Dh) each
        if last_query:
            q = q[:, :, -1:]
        scores = (q * (d // self.heads) ** -0.5) @ k.transpose(-1, -2)
        if mask is not None:
            scores = scores + mask
        return self.proj((scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(n, q.shape[2], d))


def mlp(dim: int, ratio: int) -> nn.Sequential:
    """The Transformer feed-forward: Linear(dim, ratio * dim), GELU, Linear back to dim."""
    return nn.Sequential(nn.Linear(dim, ratio * dim), nn.GELU(), nn.Linear(ratio * dim, dim))
