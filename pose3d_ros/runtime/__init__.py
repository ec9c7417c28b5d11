"""The inference floor every network stands on: ONNX Runtime (CPU, CUDA), TensorRT with its engine cache, torch
CUDA graphs, and the ``auto`` choice among them. Knows nothing of lifters or detectors.

    session = open_session("auto", "network.onnx", max_batch=8)
    outputs = session.run({"image": crops})  # every input (B, ...) -> every output (B, ...)
"""

from pose3d_ros.runtime.select import BACKENDS, open_session
from pose3d_ros.runtime.session import InferenceError, Session

__all__ = ["BACKENDS", "InferenceError", "Session", "open_session"]
