"""torch on CUDA with CUDA graphs: the GPU path when TensorRT is missing or cannot build the model.

The model is captured once per people-count bucket (1, 2, 4, ... up to max_people) into a CUDA graph with
static input tensors (the window, and the image crop for image models) and a static output; a frame copies
its inputs into the smallest bucket that holds them and replays that graph, so no kernel launch overhead or
allocation happens per frame. Every architecture treats each person on its own in eval mode (batch norm with
running statistics, attention within one person), so rows past the frame's people count do not matter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pose3d_ros.layouts import H36M17
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


def per_person_shapes(receptive_field: int, crop_size: int) -> tuple[tuple[int, ...], ...]:
    """Shapes after the people dimension of the model's inputs, in call order: window (T, 17, 3) [, crop (3, S, S)]."""
    window = (receptive_field, H36M17.num_joints, 3)
    return (window,) if crop_size == 0 else (window, (3, crop_size, crop_size))


class TorchCudaLifter(_Lifter):
    """Reads the ``.pt`` export (as TorchLifter); raises LifterError when torch has no usable CUDA device."""

    def __init__(self, path: Path, num_threads: int = 1, max_people: int = 8, device: str = "cuda:0"):
        import torch

        if not torch.cuda.is_available():
            why = "built without CUDA" if torch.version.cuda is None else "found no CUDA device"
            raise LifterError(f"torch {torch.__version__} {why} (torch.cuda.is_available() is False)")
        # Loads and validates the file on the CPU, building its architecture with architectures.build_model.
        reference = TorchLifter(path, num_threads)
        self.metadata = reference.metadata
        self.receptive_field = reference.receptive_field
        self.crop_size = reference.crop_size
        self.model = reference.model.to(device).eval()
        self.buckets = people_buckets(max_people)
        self._torch = torch
        largest = self.buckets[-1]
        shapes = per_person_shapes(self.receptive_field, self.crop_size)
        self.host_in = tuple(torch.zeros((largest, *shape), pin_memory=True) for shape in shapes)
        self.static_in = tuple(torch.zeros((largest, *shape), device=device) for shape in shapes)
        self.host_out = torch.zeros((largest, H36M17.num_joints, 3), pin_memory=True)
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}

        with torch.no_grad():
            # Warm-up on a side stream before capture, as torch.cuda.graphs' documentation asks.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    self.model(*self.static_in)
            torch.cuda.current_stream().wait_stream(side)
            pool = None
            # Largest first, the smaller graphs sharing its memory pool: safe in any replay order, because each
            # replay recomputes all it reads from static_in, and a graph's output is copied out before the next.
            for b in reversed(self.buckets):
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):
                    out = self.model(*(x[:b] for x in self.static_in))
                pool = graph.pool()
                self.graphs[b] = (graph, out)
        torch.cuda.synchronize()

    def _run(self, window: np.ndarray, crops: np.ndarray | None = None) -> np.ndarray:
        arrays = (window,) if crops is None else (window, crops)  # in self.static_in's order
        n = self.buckets[-1]
        if window.shape[0] <= n:
            return self._run_chunk(arrays)
        return np.concatenate([self._run_chunk(tuple(a[i:i + n] for a in arrays))
                               for i in range(0, window.shape[0], n)])

    def _run_chunk(self, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
        torch = self._torch
        p = arrays[0].shape[0]
        graph, out = self.graphs[bucket_for(p, self.buckets)]
        for host, static, array in zip(self.host_in, self.static_in, arrays):
            host[:p].copy_(torch.from_numpy(array))
            static[:p].copy_(host[:p], non_blocking=True)
        graph.replay()
        self.host_out[:p].copy_(out[:p], non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return self.host_out[:p].numpy().copy()  # the caller keeps the result; the pinned buffer is reused
