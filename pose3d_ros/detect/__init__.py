"""2D keypoint detectors behind one interface, chosen by name: ``make_detector("blazepose")``.

    blazepose         every person in view: BlazePose's detector and landmark networks run by the package on
                      the runtime layer (ONNX Runtime, TensorRT), people followed by their ROIs (blazepose.py)
    mediapipe_legacy  MediaPipe's own ``mp.solutions.pose``: one person only; kept for comparison

A backend is one module holding one class or factory; add it to ``_BACKENDS`` and nothing else changes.
Backends are imported only when made, so an uninstalled runtime costs nothing until asked for.
"""

from __future__ import annotations

import importlib

from pose3d_ros.detect.base import Detection, Detector, DetectorError, to_layout

__all__ = ["DEFAULT_DETECTOR", "Detection", "Detector", "DetectorError", "make_detector", "to_layout"]

# name -> (module, class)
_BACKENDS = {
    "blazepose": ("pose3d_ros.detect.blazepose", "open_blazepose"),
    "mediapipe_legacy": ("pose3d_ros.detect.mediapipe_pose", "MediaPipePoseDetector"),
}
DEFAULT_DETECTOR = "blazepose"


def make_detector(name: str, **options: object) -> Detector:
    """Build the detector backend ``name`` with its keyword ``options``."""
    if name == "mediapipe":
        raise DetectorError("detector 'mediapipe' is now 'mediapipe_legacy' (MediaPipe's one-person API); the "
                            "default 'blazepose' runs the same networks and finds every person")
    if name not in _BACKENDS:
        raise DetectorError(f"detector '{name}' unknown; expected one of {', '.join(sorted(_BACKENDS))}")
    module, cls = _BACKENDS[name]
    return getattr(importlib.import_module(module), cls)(**options)
