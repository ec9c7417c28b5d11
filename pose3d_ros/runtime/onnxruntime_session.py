"""ONNX Runtime sessions: the CPU (always there) and the CUDA execution provider (onnxruntime-gpu; NVIDIA's
Jetson wheel on a Jetson)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from pose3d_ros.runtime.session import InferenceError, batch_inputs, feed_batch, run_in_chunks

CUDA = "CUDAExecutionProvider"


class OnnxRuntimeSession:
    """The ONNX file at ``path`` on the CPU, or on GPU 0 with ``cuda``; ``num_threads`` intra-op threads.

    Raises InferenceError for an unreadable file, unfit inputs (see batch_inputs), or, with ``cuda``, when
    ONNX Runtime cannot run on CUDA here.
    """

    def __init__(self, path: str | Path, num_threads: int = 1, cuda: bool = False):
        import onnxruntime as ort

        path = Path(path)
        available = ort.get_available_providers()
        if cuda and CUDA not in available:
            raise InferenceError(f"{CUDA} not in available providers {available}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1  # one graph at a time: a second pool would only compete for the cores
        providers = [CUDA, "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
        try:
            self._session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise InferenceError(f"cannot load ONNX model '{path}': {exc}") from exc
        # onnxruntime falls back to the CPU, with only a log line, when CUDA or cuDNN libraries fail to load.
        if cuda and self._session.get_providers()[0] != CUDA:
            raise InferenceError(f"{CUDA} did not start (session providers {self._session.get_providers()}); "
                                 "check the CUDA and cuDNN libraries it needs")
        self.backend = "onnxruntime_cuda" if cuda else "onnxruntime"
        self.metadata = dict(self._session.get_modelmeta().custom_metadata_map)
        self.inputs, self.max_batch = batch_inputs({i.name: i.shape for i in self._session.get_inputs()}, path)
        self.output_names = [o.name for o in self._session.get_outputs()]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        batch = feed_batch(feeds, self.inputs)
        return run_in_chunks(feeds, batch, self.max_batch, lambda chunk: self._session.run(self.output_names, chunk))

    def close(self) -> None:
        """Nothing to free by hand: ONNX Runtime releases the session with this object."""
