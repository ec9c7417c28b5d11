"""2D keypoint detectors behind one interface, chosen by name: ``make_detector("mediapipe")``.

A backend is one module holding one class; add it to ``_BACKENDS`` and nothing else changes.
Backends are imported only when made, so an uninstalled runtime costs nothing until asked for.
"""

from __future__ import annotations

import importlib

from pose3d_ros.detect.base import Detection, Detector, DetectorError, to_layout

__all__ = ["Detection", "Detector", "DetectorError", "make_detector", "to_layout"]

# name -> (module, class)
_BACKENDS = {
    "mediapipe": ("pose3d_ros.detect.mediapipe_pose", "MediaPipePoseDetector"),
}


def make_detector(name: str, **options: object) -> Detector:
    """Build the detector backend ``name`` with its keyword ``options``."""
    if name not in _BACKENDS:
        raise DetectorError(f"detector '{name}' unknown; expected one of {', '.join(sorted(_BACKENDS))}")
    module, cls = _BACKENDS[name]
    return getattr(importlib.import_module(module), cls)(**options)
