"""MediaPipe BlazePose (full model) through the legacy ``mp.solutions.pose`` API: one person, 33 keypoints.

Pinned to mediapipe==0.10.21, the last release whose wheel carries the pose models. Only the "full"
model (model_complexity=1) ships in it; complexity 0 and 2 download their weights at start-up, which
fails offline, so they are not offered.
"""

from __future__ import annotations

import mediapipe as mp
import numpy as np

from pose3d_ros.detect.base import Detection, DetectorError, check_rgb
from pose3d_ros.layouts import BLAZEPOSE33


class MediaPipePoseDetector:
    """BlazePose-33 keypoints in pixels, visibility as confidence, and MediaPipe's world landmarks.

    score is the mean visibility over the 33 landmarks (the legacy API exposes no person score);
    bbox_px spans all landmarks, clipped to the image.
    world_m is MediaPipe's metric 3D: origin at the hip mid-point, axes along the camera's
    (x right, y down, z away from the camera), so it is camera-aligned but not camera-positioned.
    """

    layout = BLAZEPOSE33

    def __init__(
        self,
        static_image_mode: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        smooth_landmarks: bool = True,
    ) -> None:
        for name, value in (("min_detection_confidence", min_detection_confidence),
                            ("min_tracking_confidence", min_tracking_confidence)):
            if not 0.0 <= value <= 1.0:
                raise DetectorError(f"mediapipe {name} {value} out of range; expected 0 to 1")
        self._options = {"static_image_mode": static_image_mode, "model_complexity": 1,
                         "smooth_landmarks": smooth_landmarks, "min_detection_confidence": min_detection_confidence,
                         "min_tracking_confidence": min_tracking_confidence}
        self._pose = mp.solutions.pose.Pose(**self._options)
        self._last_stamp_us: int | None = None

    def reset(self) -> None:
        """Start over with a new graph: MediaPipe's own clock only goes forward."""
        if self._pose is not None:
            self._pose.close()
            self._pose = mp.solutions.pose.Pose(**self._options)
        self._last_stamp_us = None

    def detect(self, rgb: np.ndarray, stamp_ns: int) -> list[Detection]:
        """Find at most one person in (H, W, 3) uint8 RGB; ``stamp_ns`` must increase by >= 1 us per call."""
        if self._pose is None:
            raise DetectorError("mediapipe detector is closed; make a new one")
        rgb = check_rgb(rgb)
        stamp_us = stamp_ns // 1000
        if self._last_stamp_us is not None and stamp_us <= self._last_stamp_us:
            raise DetectorError(
                f"image stamp {stamp_ns} ns is not at least 1 us after the previous {self._last_stamp_us * 1000} ns; "
                "MediaPipe's clock counts microseconds and only goes forward (reset() starts over)"
            )
        self._last_stamp_us = stamp_us
        # The legacy API stamps frames as if at 30 fps; set its clock so landmark smoothing sees real time.
        self._pose._simulated_timestamp = stamp_us - 33333
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return []
        height, width = rgb.shape[:2]
        landmarks = np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)
        keypoints_px = landmarks[:, :2] * np.array([width, height], dtype=np.float32)
        confidence = np.clip(landmarks[:, 2], 0.0, 1.0)
        world_m = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=np.float32)
        inside = np.clip(keypoints_px, 0, [width - 1, height - 1])
        bbox_px = np.concatenate([inside.min(axis=0), inside.max(axis=0)]).astype(np.float32)
        return [Detection(keypoints_px, confidence, BLAZEPOSE33, float(confidence.mean()), bbox_px, world_m)]

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
