"""Real MediaPipe BlazePose on real frames of the Sports2D demo video (two people walking)."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import Sports2D

from pose3d_ros.detect import Detection, DetectorError, make_detector, to_layout
from pose3d_ros.layouts import BLAZEPOSE33, H36M17

DEMO_VIDEO = Path(Sports2D.__file__).parent / "Demo" / "demo.mp4"
TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")


def read_frame(index: int) -> np.ndarray:
    """Frame ``index`` of the demo video as (994, 1768, 3) uint8 RGB."""
    capture = cv2.VideoCapture(str(DEMO_VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, bgr = capture.read()
    capture.release()
    assert ok, f"could not read frame {index} of {DEMO_VIDEO}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return read_frame(120)


@pytest.fixture
def detector():
    det = make_detector("mediapipe_legacy")
    yield det
    det.close()


def test_finds_the_walker_with_plausible_keypoints(frame, detector):
    (det,) = detector.detect(frame, stamp_ns=0)
    h, w = frame.shape[:2]
    assert det.layout == BLAZEPOSE33 == detector.layout
    assert det.keypoints_px.shape == (33, 2) and det.keypoints_px.dtype == np.float32
    assert det.confidence.shape == (33,) and det.confidence.dtype == np.float32
    assert np.all((det.confidence >= 0) & (det.confidence <= 1))
    torso = [BLAZEPOSE33.index[n] for n in TORSO]
    assert np.all(det.confidence[torso] > 0.5)
    x, y = det.keypoints_px[torso].T
    assert np.all((x >= 0) & (x < w) & (y >= 0) & (y < h))
    # Upright: shoulders above hips, and the box holds the torso.
    assert det.keypoints_px[torso[:2], 1].max() < det.keypoints_px[torso[2:], 1].min()
    x0, y0, x1, y1 = det.bbox_px
    assert x0 <= x.min() and x.max() <= x1 and y0 <= y.min() and y.max() <= y1
    assert 0.5 < det.score <= 1.0
    # World landmarks: metres, hip-centred, a torso of human size.
    assert det.world_m.shape == (33, 3)
    hips = det.world_m[torso[2:]].mean(axis=0)
    assert np.linalg.norm(hips) < 0.05
    shoulder_to_hip = np.linalg.norm(det.world_m[torso[:2]].mean(axis=0) - hips)
    assert 0.3 < shoulder_to_hip < 0.7


def test_h36m_view(frame, detector):
    (det,) = detector.detect(frame, stamp_ns=0)
    h36m = to_layout(det, H36M17)
    assert isinstance(h36m, Detection) and h36m.layout == H36M17
    assert h36m.keypoints_px.shape == (17, 2) and h36m.world_m.shape == (17, 3)
    pelvis = det.keypoints_px[[BLAZEPOSE33.index["left_hip"], BLAZEPOSE33.index["right_hip"]]].mean(axis=0)
    np.testing.assert_allclose(h36m.keypoints_px[H36M17.index["pelvis"]], pelvis, atol=1e-3)


def test_no_person_in_a_black_image(detector):
    assert detector.detect(np.zeros((480, 640, 3), dtype=np.uint8), stamp_ns=0) == []


def test_tracks_a_sequence_with_increasing_stamps(detector):
    found = []
    for i, index in enumerate(range(100, 110)):
        people = detector.detect(read_frame(index), stamp_ns=1_700_000_000_000_000_000 + i * 33_333_333)
        found.append(len(people))
    assert found == [1] * 10


def test_still_image_mode(frame):
    detector = make_detector("mediapipe_legacy", static_image_mode=True)
    try:
        assert len(detector.detect(frame, stamp_ns=5)) == 1
    finally:
        detector.close()


def test_stamp_going_back_is_refused_until_reset(frame, detector):
    detector.detect(frame, stamp_ns=2_000_000)
    with pytest.raises(DetectorError, match="stamp 1000000 ns is not at least 1 us after the previous 2000000 ns"):
        detector.detect(frame, stamp_ns=1_000_000)
    detector.reset()
    assert len(detector.detect(frame, stamp_ns=1_000_000)) == 1


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((48, 64, 3), dtype=np.float32), r"float32 array of shape \(48, 64, 3\); expected uint8"),
        (np.zeros((48, 64), dtype=np.uint8), r"shape \(48, 64\); expected uint8 \(H, W, 3\)"),
        (np.zeros((48, 64, 4), dtype=np.uint8), r"shape \(48, 64, 4\)"),
        (np.zeros((0, 64, 3), dtype=np.uint8), r"shape \(0, 64, 3\)"),
        ([[0, 0, 0]], "detector input is list"),
    ],
)
def test_bad_input_names_the_value(detector, image, message):
    with pytest.raises(DetectorError, match=message):
        detector.detect(image, stamp_ns=0)


def test_closed_detector_refuses(frame):
    detector = make_detector("mediapipe_legacy")
    detector.close()
    with pytest.raises(DetectorError, match="closed"):
        detector.detect(frame, stamp_ns=0)


def test_unknown_backend_and_bad_option_name_the_value():
    with pytest.raises(DetectorError, match="detector .openpose. unknown; expected one of blazepose, mediapipe_leg"):
        make_detector("openpose")
    with pytest.raises(DetectorError, match="'mediapipe' is now 'mediapipe_legacy'"):
        make_detector("mediapipe")
    with pytest.raises(DetectorError, match="min_detection_confidence 1.5 out of range"):
        make_detector("mediapipe_legacy", min_detection_confidence=1.5)
