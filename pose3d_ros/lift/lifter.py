"""The lifter: 2D keypoint windows in, root-relative 3D joints out, on any runtime session or on torch (CPU).

Every backend reads one file that carries the weights and everything needed to use them: receptive field, joint
layout and input normalisation (ONNX ``metadata_props``; the torch checkpoint's ``metadata`` dict). ONNX files
run on a runtime Session (pose3d_ros.runtime: ONNX Runtime CPU or CUDA, TensorRT, torch CUDA graphs, ``auto``);
the torch backend is the CPU reference for debugging and parity.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.inputs import NORMALISATION, normalize_window
from pose3d_ros.runtime import InferenceError, Session, open_session

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_MODEL = WEIGHTS_DIR / "causal_liu_rf81.onnx"
BACKENDS = ("onnxruntime", "torch")
GPU_BACKENDS = ("auto", "tensorrt", "onnxruntime_cuda", "torch_cuda")  # "auto" and the GPU paths of the runtime
WINDOW, IMAGE = "window", "image"  # the ONNX inputs (pose3d_ros.training.export); IMAGE only for image models


class LifterError(InferenceError):
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


def _check_metadata(meta: Mapping[str, str], path: Path) -> int:
    """Validate the metadata a model file must carry and return its receptive field."""
    missing = [k for k in ("receptive_field", "layout", "input_normalisation") if k not in meta]
    if missing:
        raise LifterError(f"model '{path}' lacks metadata {missing}; re-export it with pose3d_ros.training.export")
    if meta["layout"] != H36M17.name:
        raise LifterError(f"model '{path}' uses layout '{meta['layout']}'; expected '{H36M17.name}'")
    if meta["input_normalisation"] != NORMALISATION:
        raise LifterError(f"model '{path}' expects input normalisation '{meta['input_normalisation']}'; "
                          f"this runtime implements '{NORMALISATION}'")
    return int(meta["receptive_field"])


def lifter_inputs(inputs: Mapping[str, tuple[int, ...]], receptive_field: int, path: Path) -> int:
    """The crop size S of a lifter network from its inputs' shapes after the people dimension (0: no image).

    Expects ``window`` (T, 17, 3) with T == receptive_field and, for image models, ``image`` (3, S, S).
    Raises LifterError saying what differs.
    """
    expected = (f"inputs window (P, {receptive_field}, {H36M17.num_joints}, 3) [and image (P, 3, S, S)], as "
                "pose3d_ros.training.export writes them")
    if WINDOW not in inputs or set(inputs) - {WINDOW, IMAGE}:
        raise LifterError(f"'{path}' is not a lifter model: inputs {dict(inputs)}; expected {expected}")
    if inputs[WINDOW] != (receptive_field, H36M17.num_joints, 3):
        raise LifterError(f"'{path}': input window (P, {', '.join(map(str, inputs[WINDOW]))}); expected {expected} "
                          f"(the metadata says receptive field {receptive_field})")
    image = inputs.get(IMAGE, (3, 0, 0))  # no image input: crop size 0
    if len(image) != 3 or image[0] != 3 or image[1] != image[2]:
        raise LifterError(f"'{path}': input image (P, {', '.join(map(str, image))}); expected (P, 3, S, S) RGB crops")
    return image[1]


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


class SessionLifter(_Lifter):
    """A lifter ONNX file on a runtime Session; ``backend`` names the runtime that serves it."""

    def __init__(self, session: Session, path: Path):
        self.session = session
        self.backend = session.backend
        self.metadata = session.metadata
        self.receptive_field = _check_metadata(self.metadata, path)
        self.crop_size = lifter_inputs(session.inputs, self.receptive_field, path)
        if len(session.output_names) != 1:
            raise LifterError(f"'{path}' has outputs {session.output_names}; expected one, joints (P, 17, 3)")

    def _run(self, window: np.ndarray, crops: np.ndarray | None = None) -> np.ndarray:
        feeds = {WINDOW: window} if crops is None else {WINDOW: window, IMAGE: crops}
        return self.session.run(feeds)[0]


class TorchLifter(_Lifter):
    """The CPU reference: the ``.pt`` export on its architecture (lift/architectures.py) in plain torch."""

    backend = "torch"

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
                              "pose3d_ros.training.export (dict with 'metadata' and 'model')") from exc
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


def lifter_calibration(items: Iterable[np.ndarray | Mapping[str, np.ndarray]] | Callable[[], Iterable[Any]]
                       ) -> Callable[[Mapping[str, tuple[int, ...]]], Iterator[dict[str, np.ndarray]]]:
    """TensorRT INT8 calibration batches for a lifter (runtime.tensorrt_session.Calibration) from ``items``.

    items (or a callable returning them): normalised windows (P, T, 17, 3) float32, as ``normalize_window``
    returns them for training-like inputs, or dicts {"window": ..., "image": (P, 3, S, S) crops (lift/crops.py)}.
    An image model's missing crops are uniform noise in [0, 1], the crops' value range: a stand-in that at least
    does not make the image branch's INT8 ranges too narrow; real crops calibrate that branch better.
    """
    def batches(inputs: Mapping[str, tuple[int, ...]]) -> Iterator[dict[str, np.ndarray]]:
        rng = np.random.default_rng(0)
        for item in items() if callable(items) else items:
            feeds = {WINDOW: item} if isinstance(item, np.ndarray) else dict(item)
            if IMAGE in inputs and IMAGE not in feeds and WINDOW in feeds:
                feeds[IMAGE] = rng.random((len(feeds[WINDOW]), *inputs[IMAGE]), np.float32)
            yield feeds

    return batches


def make_lifter(backend: str, model_path: str | Path, num_threads: int = 1, **accelerator: Any) -> LifterRuntime:
    """Create a lifter from files written by pose3d_ros.training.export.

    backend "onnxruntime" reads a .onnx; "torch" reads a .pt, or the .pt written beside a given .onnx;
    GPU_BACKENDS ("auto" = the fastest that runs here) read the .onnx (torch_cuda also its .pt). num_threads:
    CPU threads for inference. ``accelerator``: max_people (TensorRT's profile and CUDA graphs cover
    1..max_people, more run in chunks; default 8), precision, engine_dir, log, opt_batch, and calibration (INT8:
    see lifter_calibration, applied here) as open_session takes them; see docs/jetson.md. Raises LifterError for
    an unknown backend, a bad file, or a named backend that cannot run here.
    """
    if backend not in BACKENDS + GPU_BACKENDS:
        raise LifterError(f"lifter backend '{backend}' unknown; expected one of {', '.join(BACKENDS + GPU_BACKENDS)}")
    path = Path(model_path)
    if backend == "torch" and path.suffix == ".onnx":
        path = path.with_suffix(".pt")
    if backend in GPU_BACKENDS:
        path = path.with_suffix(".onnx")
    if not path.is_file():
        suffix = ".pt" if backend == "torch" else ".onnx"
        raise LifterError(f"lifter model file '{path}' not found; expected a {suffix} file from "
                          "pose3d_ros.training.export (default weights live in pose3d_ros/weights/)")
    if backend == "torch":
        return TorchLifter(path, num_threads)
    options = dict(accelerator)
    if "max_people" in options:  # the lifter's name for the batch
        options["max_batch"] = options.pop("max_people")
    if options.get("calibration") is not None:
        options["calibration"] = lifter_calibration(options["calibration"])
    try:
        session = open_session(backend, path, num_threads=num_threads,
                               torch_module=lambda: TorchLifter(path.with_suffix(".pt"), num_threads).model, **options)
    except InferenceError as exc:
        raise LifterError(str(exc)) from exc
    try:
        return SessionLifter(session, path)
    except LifterError:
        session.close()
        raise


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
