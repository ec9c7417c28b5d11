"""2D keypoint windows -> root-relative 3D joints of the newest frame (causal temporal lifting).

    lifter = make_lifter("onnxruntime", "pose3d_ros/weights/causal_liu_rf81.onnx")
    joints_m = lifter.lift(keypoints_px, confidence, camera)  # (P, 17, 3), camera optical frame
"""

from pose3d_ros.lift.lifter import (
    BACKENDS,
    DEFAULT_MODEL,
    WEIGHTS_DIR,
    CameraModel,
    LifterError,
    LifterRuntime,
    make_lifter,
    resolve_model,
)

__all__ = ["BACKENDS", "DEFAULT_MODEL", "WEIGHTS_DIR", "CameraModel", "LifterError", "LifterRuntime", "make_lifter",
           "resolve_model"]
