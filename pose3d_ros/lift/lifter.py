"""Lifter backends behind one interface: ONNX Runtime (deployment) and torch (reference, debugging).

Both read one file that carries the weights and everything needed to use them: receptive field, joint
layout and input normalisation (ONNX ``metadata_props``; the torch checkpoint's ``metadata`` dict).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import numpy as np

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.inputs import NORMALISATION, normalize_window

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = WEIGHTS_DIR / "causal_liu_rf81.onnx"
BACKENDS = ("onnxruntime", "torch")
GPU_BACKENDS = ("auto", "tensorrt", "onnxruntime_cuda", "torch_cuda")  # "auto" and the GPU paths: lift/select.py


class LifterError(RuntimeError):
    """A lifter could not be created: unknown backend, or a missing or unusable model file."""


class CameraModel(Protocol):
    """What the lifter needs from a camera: ``K`` (3, 3) float64 intrinsics; image ``width``, ``height`` (pixels)."""

    K: np.ndarray
    width: int
    height: int


class LifterRuntime(Protocol):
    receptive_field: int
    layout_name: str
    crop_size: int  # side of the image crop the model reads (lift/crops.py); 0 = 2D keypoints only

    def lift(self, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel,
             crops: np.ndarray | None = None) -> np.ndarray:
        """Lift the newest frame of each person's window.

        keypoints_px: (P, T, 17, 2) float32 pixels in the H36M-17 layout, T == receptive_field, oldest
        first; confidence: (P, T, 17) float32 in [0, 1] (0 = missing); crops: (P, 3, S, S) float32, each
        person's newest-frame crop, required when crop_size S > 0. Returns (P, 17, 3) float32 root-relative
        joints in metres for the newest frame, camera optical frame (x right, y down, z forward), pelvis at 0.
        """
        ...


def _check_metadata(meta: dict[str, str], path: Path) -> int:
    """Validate the metadata a model file must carry and return its receptive field."""
    missing = [k for k in ("receptive_field", "layout", "input_normalisation") if k not in meta]
    if missing:
        raise LifterError(f"model '{path}' lacks metadata {missing}; re-export it with pose3d_ros.lift.export")
    if meta["layout"] != H36M17.name:
        raise LifterError(f"model '{path}' uses layout '{meta['layout']}'; expected '{H36M17.name}'")
    if meta["input_normalisation"] != NORMALISATION:
        raise LifterError(f"model '{path}' expects input normalisation '{meta['input_normalisation']}'; "
                          f"this runtime implements '{NORMALISATION}'")
    return int(meta["receptive_field"])


class _Lifter:
    """Input checks and normalisation shared by the backends; subclasses implement ``_run``."""

    layout_name = H36M17.name
    receptive_field: int
    crop_size = 0

    def lift(self, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel,
             crops: np.ndarray | None = None) -> np.ndarray:
        p = keypoints_px.shape[0] if keypoints_px.ndim == 4 else -1
        expected = (p, self.receptive_field, H36M17.num_joints)
        if keypoints_px.shape != (*expected, 2) or confidence.shape != expected:
            raise ValueError(f"keypoints_px {keypoints_px.shape} / confidence {confidence.shape}; expected "
                             f"(P, {self.receptive_field}, {H36M17.num_joints}, 2) / (P, {self.receptive_field}, "
                             f"{H36M17.num_joints})")
        if self.crop_size and (crops is None or crops.shape != (p, 3, self.crop_size, self.crop_size)):
            raise ValueError(f"crops {None if crops is None else crops.shape}; this model reads image crops "
                             f"(P, 3, {self.crop_size}, {self.crop_size}) float32 (lift/crops.py)")
        if p == 0:
            return np.zeros((0, H36M17.num_joints, 3), np.float32)
        window = normalize_window(keypoints_px, confidence, camera.K)
        return self._run(window) if not self.crop_size else self._run(window, crops.astype(np.float32, copy=False))

    def _run(self, window: np.ndarray, crops: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError


class OnnxLifter(_Lifter):
    def __init__(self, path: Path, num_threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise LifterError(f"cannot load ONNX model '{path}': {exc}; expected an ONNX file written by "
                              "pose3d_ros.lift.export") from exc
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.receptive_field = _check_metadata(self.metadata, path)
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        self.crop_size = int(inputs["image"][-1]) if "image" in inputs else 0

    def _run(self, window: np.ndarray, crops: np.ndarray | None = None) -> np.ndarray:
        feed = {"window": window} if crops is None else {"window": window, "image": crops}
        return self.session.run(None, feed)[0]


class TorchLifter(_Lifter):
    def __init__(self, path: Path, num_threads: int):
        import torch

        from pose3d_ros.lift.architectures import build_model

        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.metadata = state["metadata"]
            self.model = build_model(self.metadata.get("architecture", ""), json.loads(self.metadata["model_config"]))
            self.model.load_state_dict(state["model"])
        except Exception as exc:  # torch.load raises many types for a bad file; all mean "unusable"
            raise LifterError(f"cannot load torch model '{path}': {exc}; expected a .pt written by "
                              "pose3d_ros.lift.export (dict with 'metadata' and 'model')") from exc
        self.model.eval()
        self.receptive_field = _check_metadata(self.metadata, path)
        self.crop_size = self.model.cfg.crop_size if self.model.needs_image else 0
        torch.set_num_threads(num_threads)  # process-wide in torch; the node runs one lifter
        self._torch = torch

    def _run(self, window: np.ndarray, crops: np.ndarray | None = None) -> np.ndarray:
        torch = self._torch
        inputs = [window] if crops is None else [window, crops]
        with torch.inference_mode():
            return self.model(*map(torch.from_numpy, inputs)).numpy()


def make_lifter(backend: str, model_path: str | Path, num_threads: int = 1, **accelerator) -> LifterRuntime:
    """Create a lifter from files written by pose3d_ros.lift.export.

    backend "onnxruntime" reads a .onnx; "torch" reads a .pt, or the .pt written beside a given .onnx.
    num_threads: CPU threads for inference. Raises LifterError for an unknown backend or a bad file.
    GPU_BACKENDS ("auto" = the fastest that runs here) are made by pose3d_ros.lift.select, which takes the
    ``accelerator`` options (max_people, precision, engine_dir, log); see docs/jetson.md.
    """
    if backend in GPU_BACKENDS:
        from pose3d_ros.lift.select import make_accelerated_lifter

        return make_accelerated_lifter(backend, model_path, num_threads, **accelerator)
    if backend not in BACKENDS:
        raise LifterError(f"lifter backend '{backend}' unknown; expected one of {', '.join(BACKENDS + GPU_BACKENDS)}")
    path = Path(model_path)
    if backend == "torch" and path.suffix == ".onnx":
        path = path.with_suffix(".pt")
    if not path.is_file():
        raise LifterError(f"lifter model file '{path}' not found; expected a "
                          f"{'.onnx' if backend == 'onnxruntime' else '.pt'} file from pose3d_ros.lift.export "
                          "(default weights live in pose3d_ros/weights/)")
    return OnnxLifter(path, num_threads) if backend == "onnxruntime" else TorchLifter(path, num_threads)


def resolve_model(model: str, backend: str) -> Path:
    """The model file the ``model`` parameter names: '' = DEFAULT_MODEL; a bare name (no '/', no suffix) =
    pose3d_ros/weights/<name>.onnx, or .pt for the torch backend; anything else is a path, used as given.
    Raises LifterError listing the packaged names when a bare name is not among them."""
    if not model:
        return DEFAULT_MODEL
    path = Path(model)
    if "/" in model or path.suffix:
        return path
    suffix = ".pt" if backend == "torch" else ".onnx"
    if (WEIGHTS_DIR / f"{model}{suffix}").is_file():
        return WEIGHTS_DIR / f"{model}{suffix}"
    names = sorted(p.stem for p in WEIGHTS_DIR.glob(f"*{suffix}"))
    raise LifterError(f"lifter model '{model}' is neither a file path nor a model in {WEIGHTS_DIR} "
                      f"(*{suffix}); expected one of: {', '.join(names) or 'none installed'}, or a path")
