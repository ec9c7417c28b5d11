"""ONNX Runtime on its CUDA execution provider (onnxruntime-gpu; the Jetson Zoo wheel on a Jetson)."""

from __future__ import annotations

from pathlib import Path

from pose3d_ros.lift.runtime import LifterError, OnnxLifter


class OnnxCudaLifter(OnnxLifter):
    """As OnnxLifter (window, and image crops for image models), on GPU 0.

    Raises LifterError when onnxruntime cannot run on CUDA here.
    """

    def __init__(self, path: Path, num_threads: int):
        import onnxruntime as ort

        available = ort.get_available_providers()
        if "CUDAExecutionProvider" not in available:
            raise LifterError(f"CUDAExecutionProvider not in available providers {available}")
        super().__init__(path, num_threads)  # reads and validates the model on the CPU provider
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        # onnxruntime falls back to the CPU, with only a log line, when CUDA or cuDNN libraries fail to load.
        if self.session.get_providers()[0] != "CUDAExecutionProvider":
            raise LifterError(f"CUDAExecutionProvider did not start (session providers "
                              f"{self.session.get_providers()}); check the CUDA and cuDNN libraries it needs")
