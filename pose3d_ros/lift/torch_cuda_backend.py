"""torch on CUDA with CUDA graphs: the GPU path when TensorRT is missing or cannot build the model.

The model is captured once per people-count bucket (1, 2, 4, ... up to max_people) into a CUDA graph with
static input and output tensors; a frame copies its windows into the smallest bucket that holds them and
replays that graph, so no kernel launch overhead or allocation happens per frame. Windows are independent
(batch norm in eval mode, attention over time only), so rows past the frame's people count do not matter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose3d_ros.lift.runtime import LifterError, TorchLifter, _Lifter


def people_buckets(max_people: int) -> tuple[int, ...]:
    """Powers of two from 1 up to the first >= max_people: (1, 2, 4, 8) for 5..8."""
    if max_people < 1:
        raise ValueError(f"max_people {max_people}; expected >= 1")
    buckets = [1]
    while buckets[-1] < max_people:
        buckets.append(buckets[-1] * 2)
    return tuple(buckets)


def bucket_for(people: int, buckets: tuple[int, ...]) -> int:
    """The smallest bucket that holds ``people`` (1 <= people <= buckets[-1])."""
    return next(b for b in buckets if b >= people)


class TorchCudaLifter(_Lifter):
    """Reads the ``.pt`` export (as TorchLifter); raises LifterError when torch has no usable CUDA device."""

    def __init__(self, path: Path, num_threads: int = 1, max_people: int = 8, device: str = "cuda:0"):
        import torch

        if not torch.cuda.is_available():
            why = "built without CUDA" if torch.version.cuda is None else "found no CUDA device"
            raise LifterError(f"torch {torch.__version__} {why} (torch.cuda.is_available() is False)")
        reference = TorchLifter(path, num_threads)  # loads and validates the file on the CPU
        self.metadata = reference.metadata
        self.receptive_field = reference.receptive_field
        self.model = reference.model.to(device).eval()
        self.buckets = people_buckets(max_people)
        self._torch = torch
        cfg = self.model.cfg
        per_person = (self.receptive_field, cfg.num_joints, cfg.in_features)
        largest = self.buckets[-1]
        self.host_in = torch.zeros((largest, *per_person), pin_memory=True)
        self.host_out = torch.zeros((largest, cfg.num_joints, 3), pin_memory=True)
        self.static_in = torch.zeros((largest, *per_person), device=device)
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}

        with torch.no_grad():
            # Warm-up on a side stream before capture, as torch.cuda.graphs' documentation asks.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.model(self.static_in)
            torch.cuda.current_stream().wait_stream(side)
            pool = None
            # Largest first, the smaller graphs sharing its memory pool: safe in any replay order, because each
            # replay recomputes all it reads from static_in, and a graph's output is copied out before the next.
            for b in reversed(self.buckets):
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):
                    out = self.model(self.static_in[:b])
                pool = graph.pool()
                self.graphs[b] = (graph, out)
        torch.cuda.synchronize()

    def _run(self, window: np.ndarray) -> np.ndarray:
        largest = self.buckets[-1]
        if window.shape[0] <= largest:
            return self._run_chunk(window)
        return np.concatenate([self._run_chunk(window[i:i + largest]) for i in range(0, window.shape[0], largest)])

    def _run_chunk(self, window: np.ndarray) -> np.ndarray:
        torch = self._torch
        p = window.shape[0]
        graph, out = self.graphs[bucket_for(p, self.buckets)]
        self.host_in[:p].copy_(torch.from_numpy(window))
        self.static_in[:p].copy_(self.host_in[:p], non_blocking=True)
        graph.replay()
        self.host_out[:p].copy_(out[:p], non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return self.host_out[:p].numpy().copy()  # the caller keeps the result; the pinned buffer is reused
