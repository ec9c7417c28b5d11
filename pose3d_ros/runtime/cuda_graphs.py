"""torch on CUDA with CUDA graphs: the GPU path when TensorRT is missing or cannot build a network.

The caller's module is captured once per batch bucket (1, 2, 4, ... up to max_batch) into a CUDA graph with
static input tensors and static outputs; a call copies its inputs into the smallest bucket that holds them and
replays that graph, so no kernel launch overhead or allocation happens per call. The module must treat each
sample on its own (eval mode: batch norm with running statistics), since rows past the call's batch hold stale
inputs. Importing this module raises ImportError without torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from pose3d_ros.runtime.session import InferenceError, batch_buckets, bucket_for, feed_batch, run_in_chunks


def cuda_unavailable() -> str | None:
    """Why torch cannot run on CUDA here, or None when it can."""
    if torch.cuda.is_available():
        return None
    why = "built without CUDA" if torch.version.cuda is None else "found no CUDA device"
    return f"torch {torch.__version__} {why} (torch.cuda.is_available() is False)"


class CudaGraphSession:
    """Runs ``module(*inputs in the order of ``inputs``)`` -> a tensor or a tuple of tensors, named ``output_names``.

    inputs: each float32 input's shape after the batch dimension 0. Raises InferenceError when torch has no
    usable CUDA device or the module's outputs do not match ``output_names``.
    """

    backend = "torch_cuda"

    def __init__(self, module: torch.nn.Module, inputs: Mapping[str, tuple[int, ...]], output_names: Sequence[str],
                 max_batch: int = 8, metadata: Mapping[str, str] | None = None, device: str = "cuda:0"):
        reason = cuda_unavailable()
        if reason is not None:
            raise InferenceError(reason)
        self.inputs = dict(inputs)
        self.output_names = list(output_names)
        self.metadata = dict(metadata or {})
        self.module = module.to(device).eval()
        self.buckets = batch_buckets(max_batch)
        largest = self.buckets[-1]
        self.host_in = {n: torch.zeros((largest, *s), pin_memory=True) for n, s in self.inputs.items()}
        self.static_in = {n: torch.zeros((largest, *s), device=device) for n, s in self.inputs.items()}
        self.graphs: dict[int, tuple[torch.cuda.CUDAGraph, tuple[torch.Tensor, ...]]] = {}

        with torch.no_grad():
            # Warm-up on a side stream before capture, as torch.cuda.graphs' documentation asks.
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    outputs = self._call(self.static_in.values())
            torch.cuda.current_stream().wait_stream(side)
            if len(outputs) != len(self.output_names):
                raise InferenceError(f"module gives {len(outputs)} outputs; expected {len(self.output_names)} "
                                     f"({', '.join(self.output_names)})")
            self.host_out = [torch.zeros(o.shape, dtype=o.dtype, pin_memory=True) for o in outputs]
            pool = None
            # Largest first, the smaller graphs sharing its memory pool: safe in any replay order, because each
            # replay recomputes all it reads from static_in, and a graph's outputs are copied out before the next.
            for b in reversed(self.buckets):
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph, pool=pool):
                    captured = self._call(x[:b] for x in self.static_in.values())
                pool = graph.pool()
                self.graphs[b] = (graph, captured)
        torch.cuda.synchronize()

    def _call(self, arrays: Iterable[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        out = self.module(*arrays)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        batch = feed_batch(feeds, self.inputs)
        return run_in_chunks(feeds, batch, self.buckets[-1], self._run_chunk)

    def _run_chunk(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        batch = next(iter(feeds.values())).shape[0]
        graph, outputs = self.graphs[bucket_for(batch, self.buckets)]
        for name, array in feeds.items():
            self.host_in[name][:batch].copy_(torch.from_numpy(np.ascontiguousarray(array, np.float32)))
            self.static_in[name][:batch].copy_(self.host_in[name][:batch], non_blocking=True)
        graph.replay()
        for host, out in zip(self.host_out, outputs):
            host[:batch].copy_(out[:batch], non_blocking=True)
        torch.cuda.current_stream().synchronize()
        return [host[:batch].numpy().copy() for host in self.host_out]  # the caller keeps them; buffers are reused

    def close(self) -> None:
        """Drop the graphs; torch keeps their memory pool in its cache for reuse."""
        self.graphs.clear()

