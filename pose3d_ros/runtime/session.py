"""What every runtime backend offers: a ``Session`` that runs one network on batches, and the batch rules they share.

A network's inputs all carry the batch (people, tiles, crops) on dimension 0 and fixed sizes on the others; a
session describes each input by its shape after dimension 0 and runs any batch size B >= 1 (in chunks where a
backend has a largest batch). Nothing here knows which network it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

OPT_BATCH = 2  # the batch TensorRT tunes kernels for: a robot usually sees one or two people
Shapes = dict[str, tuple[int, ...]]  # each input's shape after the batch dimension 0, by name


class InferenceError(RuntimeError):
    """A session cannot be made or run: a missing library or device, an unreadable file, a failed engine build."""


class Session(Protocol):
    backend: str  # "onnxruntime", "onnxruntime_cuda", "tensorrt" or "torch_cuda"
    inputs: dict[str, tuple[int, ...]]  # each input's shape after the batch dimension 0
    output_names: list[str]
    metadata: dict[str, str]  # the ONNX file's metadata_props

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """feeds: {input name: (B, *inputs[name]) array}, one B >= 1 for all. Returns the outputs in
        ``output_names`` order, each with B on dimension 0."""
        ...

    def close(self) -> None:
        """Free what the session holds on the device (also safe to leave to process exit)."""
        ...


def batch_inputs(shapes: Mapping[str, Sequence[int | str | None]], source: object) -> tuple[Shapes, int | None]:
    """Each input's shape after dimension 0, and the largest batch the file allows (None: any).

    shapes: each input's full shape as the file declares it; a dynamic dimension may be a name, None, -1 or 0.
    Dimension 0 may be dynamic or fixed at 1 (then batches run one sample at a time); every other dimension must
    be fixed. Raises InferenceError naming ``source`` and the input otherwise.
    """
    per_sample: Shapes = {}
    fixed_one = False
    for name, shape in shapes.items():
        dims = [d if isinstance(d, int) and d > 0 else -1 for d in shape]
        if not dims or min(dims[1:], default=1) < 0:
            raise InferenceError(f"'{source}': input '{name}' has shape {tuple(shape)}; expected a batch dimension "
                                 "0 and fixed sizes on all the others")
        if dims[0] > 1:
            raise InferenceError(f"'{source}': input '{name}' has a fixed batch of {dims[0]}; expected a dynamic "
                                 "dimension 0 (or 1): export it with a dynamic batch")
        fixed_one = fixed_one or dims[0] == 1
        per_sample[name] = tuple(dims[1:])
    return per_sample, 1 if fixed_one else None


def feed_batch(feeds: Mapping[str, np.ndarray], inputs: Mapping[str, tuple[int, ...]]) -> int:
    """The batch size B of ``feeds``; raises ValueError unless they hold exactly ``inputs``, shaped (B, *shape)."""
    if set(feeds) != set(inputs):
        raise ValueError(f"feeds for inputs {sorted(feeds)}; expected {sorted(inputs)}")
    for name, shape in inputs.items():
        if feeds[name].shape[1:] != shape:
            raise ValueError(f"input '{name}' {feeds[name].shape}; expected (B, {', '.join(map(str, shape))})")
    batches = {feeds[name].shape[0] for name in inputs}
    if len(batches) != 1 or 0 in batches:
        raise ValueError(f"inputs with batch sizes {sorted(batches)}; expected one batch size B >= 1 for all")
    return batches.pop()


def run_in_chunks(feeds: Mapping[str, np.ndarray], batch: int, max_batch: int | None,
                  run: Callable[[dict[str, np.ndarray]], list[np.ndarray]]) -> list[np.ndarray]:
    """``run`` on chunks of at most ``max_batch`` (None: all at once), the outputs concatenated on dimension 0."""
    if max_batch is None or batch <= max_batch:
        return run(dict(feeds))
    parts = [run({name: array[i:i + max_batch] for name, array in feeds.items()}) for i in range(0, batch, max_batch)]
    return [np.concatenate(outputs) for outputs in zip(*parts)]


def batch_profile(max_batch: int, opt_batch: int) -> tuple[int, int, int]:
    """(min, opt, max) batch of a TensorRT optimisation profile: opt_batch is clamped into 1..max_batch."""
    if max_batch < 1:
        raise ValueError(f"max_batch {max_batch}; expected >= 1")
    return 1, min(max(opt_batch, 1), max_batch), max_batch


def batch_buckets(max_batch: int) -> tuple[int, ...]:
    """Powers of two from 1 up to the first >= max_batch: (1, 2, 4, 8) for 5..8."""
    if max_batch < 1:
        raise ValueError(f"max_batch {max_batch}; expected >= 1")
    buckets = [1]
    while buckets[-1] < max_batch:
        buckets.append(buckets[-1] * 2)
    return tuple(buckets)


def bucket_for(batch: int, buckets: tuple[int, ...]) -> int:
    """The smallest bucket that holds ``batch`` (1 <= batch <= buckets[-1])."""
    return next(b for b in buckets if b >= batch)
