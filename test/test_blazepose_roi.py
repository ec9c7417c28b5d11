"""BlazePose geometry on synthetic inputs with known answers: anchors, decoding, weighted NMS, ROIs, crops,
letterbox and the velocity filter."""

import math

import numpy as np
import pytest

from pose3d_ros.detect.roi import (
    Candidates,
    Roi,
    box_iou,
    crop_to_image,
    cut_crop,
    decode_detections,
    letterbox_square,
    roi_from_points,
    roi_to_crop,
    rotate_world,
    ssd_anchors,
    weighted_nms,
)
from pose3d_ros.detect.smoothing import VelocityFilter


def test_anchors_match_the_detector_output_count_and_order():
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)
    # stride 8: 28x28 cells, 2 anchors each, row-major; then stride 16; then the three stride-32 layers merged.
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1], anchors[0])
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(anchors[1568 + 392 : 1568 + 392 + 6], [[0.5 / 7, 0.5 / 7]] * 6)
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_decoding_puts_box_and_keypoints_relative_to_the_anchor():
    anchors = np.array([[0.25, 0.5], [0.75, 0.5]], np.float32)
    raw = np.zeros((2, 12), np.float32)
    raw[1, :4] = [22.4, -11.2, 44.8, 67.2]  # +0.1, -0.05 of the input; 0.2 x 0.3
    raw[1, 4:6] = [0, 0]
    raw[1, 6:8] = [0, -22.4]
    scores = np.array([[-5.0], [3.0]], np.float32)
    found = decode_detections(raw, scores, anchors, min_score=0.5)
    assert len(found) == 1
    np.testing.assert_allclose(found.scores, [1 / (1 + math.exp(-3))], rtol=1e-6)
    np.testing.assert_allclose(found.boxes[0], [0.75, 0.3, 0.95, 0.6], atol=1e-6)
    np.testing.assert_allclose(found.keypoints[0, :2], [[0.75, 0.5], [0.75, 0.4]], atol=1e-6)


def test_decoding_survives_extreme_logits():
    anchors = np.zeros((2, 2), np.float32)
    with np.errstate(over="raise"):
        found = decode_detections(np.zeros((2, 12), np.float32), np.array([[1e30], [-1e30]], np.float32),
                                  anchors, 0.5)
    assert len(found) == 1


def test_weighted_nms_merges_overlaps_by_score_and_keeps_separate_people():
    boxes = np.array([[0, 0, 1, 1], [0.1, 0, 1.1, 1], [3, 3, 4, 4]], np.float32)
    keypoints = np.stack([np.full((4, 2), v, np.float32) for v in (0.0, 1.0, 5.0)])
    merged = weighted_nms(Candidates(np.array([0.9, 0.3, 0.8], np.float32), boxes, keypoints))
    assert len(merged) == 2
    np.testing.assert_allclose(merged.scores, [0.9, 0.8])
    np.testing.assert_allclose(merged.boxes[0], [0.025, 0, 1.025, 1], atol=1e-6)  # 0.75 / 0.25 weights
    np.testing.assert_allclose(merged.keypoints[0], 0.25, atol=1e-6)
    np.testing.assert_allclose(merged.keypoints[1], 5.0)
    assert len(weighted_nms(Candidates.empty())) == 0


def test_box_iou():
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[1, 1, 3, 3], [5, 5, 6, 6], [0, 0, 2, 2]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 0, 1]], atol=1e-6)


@pytest.mark.parametrize("angle_deg", [0, 30, -45, 90, 180])
def test_roi_points_the_person_up_and_crops_map_back(angle_deg):
    hip = np.array([300.0, 200.0])
    up = np.array([math.sin(math.radians(angle_deg)), -math.cos(math.radians(angle_deg))])  # tilted clockwise
    roi = roi_from_points(hip, hip + 80 * up)
    assert roi.size_px == pytest.approx(2 * 80 * 1.25)
    assert roi.rotation_rad == pytest.approx(math.radians(angle_deg) if angle_deg != 180 else -math.pi)
    matrix = roi_to_crop(roi, 256)
    head_crop = matrix[:, :2] @ (hip + 80 * up) + matrix[:, 2]
    np.testing.assert_allclose(matrix[:, :2] @ hip + matrix[:, 2], [128, 128], atol=1e-9)
    np.testing.assert_allclose(head_crop, [128, 128 - 80 * 256 / roi.size_px], atol=1e-9)  # straight up
    np.testing.assert_allclose(crop_to_image(np.array([head_crop]), roi, 256)[0], hip + 80 * up, atol=1e-9)


def test_crop_cuts_the_roi_upright():
    rgb = np.zeros((400, 600, 3), np.uint8)
    rgb[100:110, 300:310] = 255  # a bright square 100 px above the ROI centre (300.5, 205.5 continuous)
    roi = Roi((305.0, 205.0), 256.0, 0.0)
    crop = cut_crop(rgb, roi, 256)
    assert crop.shape == (256, 256, 3) and crop.dtype == np.float32
    ys, xs = np.nonzero(crop[:, :, 0] > 0.5)
    assert (xs.mean(), ys.mean()) == pytest.approx((128 - 0.5, 128 - 100 - 0.5), abs=0.6)
    turned = cut_crop(rgb, Roi((305.0, 205.0), 256.0, math.pi / 2), 256)
    ys, xs = np.nonzero(turned[:, :, 0] > 0.5)
    assert (xs.mean(), ys.mean()) == pytest.approx((128 - 100 - 0.5, 128 - 0.5), abs=0.6)


def test_world_landmarks_turn_with_the_roi():
    points = np.array([[0.0, -1.0, 0.3]])
    np.testing.assert_allclose(rotate_world(points, Roi((0, 0), 1, math.pi / 2)), [[1.0, 0.0, 0.3]], atol=1e-12)


def test_letterbox_maps_back_to_the_image():
    rgb = np.zeros((300, 600, 3), np.uint8)
    rgb[140:160, 290:310] = 255
    boxed, box = letterbox_square(rgb, 224)
    assert boxed.shape == (224, 224, 3) and boxed.min() == -1.0
    assert box.scale == pytest.approx(224 / 600) and box.offset == pytest.approx((0, 56))
    ys, xs = np.nonzero(boxed[:, :, 0] > 0)
    centre = box.to_image(np.array([xs.mean() + 0.5, ys.mean() + 0.5]))
    np.testing.assert_allclose(centre, [300, 150], atol=1.0)


def test_velocity_filter_holds_a_still_person_and_follows_a_fast_one():
    rng = np.random.default_rng(0)
    still = VelocityFilter()
    jitter = [still.apply(i / 30, np.array([[100.0, 100.0]]) + rng.normal(0, 1, (1, 2)), 200.0) for i in range(60)]
    assert np.std(np.array(jitter)[30:]) < 0.5  # raw jitter: 1 px
    fast = VelocityFilter()
    out = [fast.apply(i / 30, np.array([[100.0 + 20 * i, 100.0]]), 200.0) for i in range(30)]
    assert abs(out[-1][0, 0] - (100 + 20 * 29)) < 20  # lags less than one frame's motion
    assert fast.apply(0.0, np.array([[5.0, 5.0]]), 200.0).tolist() == [[5.0, 5.0]]  # time went back: restart
