"""BlazePoseDetector's multi-person logic with stand-in networks: people are bright vertical bars; the stand-in
detector reports each bar it sees in a tile, the stand-in landmark network finds the bar in its crop. Checks
tiles, ROI following between detector runs, lost people, duplicates, max_people and reset."""

import numpy as np
import pytest

from pose3d_ros.detect import DetectorError
from pose3d_ros.detect.blazepose import BlazePoseConfig, BlazePoseDetector, content_box, square_tiles
from pose3d_ros.detect.roi import DETECTOR_SIZE, LANDMARK_SIZE, ssd_anchors

WIDTH, HEIGHT = 640, 480
ANCHORS = ssd_anchors()


def _image(bars: list[tuple[float, float, float]]) -> np.ndarray:
    """People as white bars: (x centre, y top, height) in pixels, 12 px wide."""
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for x, top, height in bars:
        rgb[int(top):int(top + height), int(x - 6):int(x + 6)] = 255
    return rgb


class FakeDetector:
    """Finds bars in each tile (input in [-1, 1]) and encodes them as the real network would, on one anchor each."""

    def __init__(self):
        self.calls = 0
        self.tiles: list[int] = []  # tiles per call

    def run(self, feeds):
        self.calls += 1
        images = feeds["image"]
        self.tiles.append(len(images))
        boxes = np.zeros((len(images), len(ANCHORS), 12), np.float32)
        scores = np.full((len(images), len(ANCHORS), 1), -10.0, np.float32)
        for n, image in enumerate(images):
            columns = np.flatnonzero((image[:, :, 0] > 0).any(axis=0))
            for group in np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1) if columns.size else []:
                rows = np.flatnonzero((image[:, group, 0] > 0).any(axis=1))
                x = (group.mean() + 0.5) / DETECTOR_SIZE
                top, bottom = rows[0] / DETECTOR_SIZE, (rows[-1] + 1) / DETECTOR_SIZE
                hip = np.array([x, (top + bottom) / 2])
                head = np.array([x, top])
                anchor = int(np.argmin(np.linalg.norm(ANCHORS - hip, axis=1)))
                raw = np.concatenate([hip, [0.1, bottom - top], hip, head, hip, hip]).reshape(-1, 2)
                boxes[n, anchor] = ((raw - ANCHORS[anchor]) * DETECTOR_SIZE).ravel()
                boxes[n, anchor, 2:4] = np.array([0.1, bottom - top]) * DETECTOR_SIZE
                scores[n, anchor] = 5.0
        return [boxes, scores]


class FakeLandmarks:
    """Finds the bar nearest the crop centre; landmarks along it, 33 (hip centre) at its middle, 34 at its top."""

    def __init__(self):
        self.people = 0

    def run(self, feeds):
        crops = feeds["image"]
        self.people += len(crops)
        landmarks = np.zeros((len(crops), 39, 5), np.float32)
        presence = np.zeros((len(crops), 1), np.float32)
        for n, crop in enumerate(crops):
            ys, xs = np.nonzero(crop[:, :, 0] > 0.5)
            near = np.abs(xs - LANDMARK_SIZE / 2) < 40
            if near.sum() < 20:
                continue
            ys, xs = ys[near] + 0.5, xs[near] + 0.5
            x, top, bottom = xs.mean(), ys.min(), ys.max()
            landmarks[n, :, 0] = x
            landmarks[n, :, 1] = np.linspace(top, bottom, 39)
            landmarks[n, 33, 1] = (top + bottom) / 2
            landmarks[n, 34, 1] = top
            landmarks[n, :, 3:] = 5.0
            presence[n] = 1.0
        return [landmarks.reshape(len(crops), -1), presence, np.zeros((len(crops), 117), np.float32)]


def _detector(**config) -> tuple[BlazePoseDetector, FakeDetector]:
    net = FakeDetector()
    return BlazePoseDetector(net, FakeLandmarks(), BlazePoseConfig(smooth=False, **config)), net


def _hips(detections) -> dict[int, np.ndarray]:
    return {d.source_id: d.keypoints_px[23:25].mean(axis=0) for d in detections}


def test_tiles_cover_the_long_side_with_squares_of_the_short_one():
    assert square_tiles(640, 480) == [(0, 0, 480), (160, 0, 480)]
    assert square_tiles(480, 480) == [(0, 0, 480)]
    assert square_tiles(360, 960) == [(0, 0, 360), (0, 300, 360), (0, 600, 360)]


def test_tiles_skip_a_letterboxed_frame_s_black_bars():
    rgb = np.zeros((480, 640, 3), np.uint8)
    rgb[60:420] = 90
    assert content_box(rgb) == (0, 60, 640, 360)
    assert content_box(np.zeros((480, 640, 3), np.uint8)) == (0, 0, 640, 480)


def test_two_people_are_followed_with_their_own_ids_between_detector_runs():
    blaze, net = _detector(detect_every=10)
    ids_seen = []
    for i in range(25):
        people = blaze.detect(_image([(100 + 4 * i, 150, 200), (500 - 3 * i, 200, 160)]), i * 33_000_000)
        hips = _hips(people)
        assert len(people) == 2
        ids_seen.append(sorted(hips))
        left = min(hips, key=lambda k: hips[k][0])
        assert hips[left][0] == pytest.approx(100 + 4 * i, abs=3)
    assert all(ids == ids_seen[0] for ids in ids_seen)
    # Frame 0 scans both tiles at once; later scans take one tile per frame: 10 and 11, 20 and 21.
    assert net.tiles == [2, 1, 1, 1, 1] and len(blaze.detector_ms) == 5
    assert [people for _, people in blaze.landmark_ms] == [2] * 25


def test_a_lost_person_is_dropped_and_the_detector_runs_again_next_frame():
    blaze, net = _detector(detect_every=100)
    blaze.detect(_image([(100, 150, 200), (500, 200, 160)]), 0)
    assert len(blaze.detect(_image([(100, 150, 200)]), 1)) == 1
    calls = net.calls
    two = _image([(100, 150, 200), (400, 200, 160)])
    assert len(blaze.detect(two, 2)) == 1 and net.calls == calls + 1  # found beside the landmark network ...
    assert len(blaze.detect(two, 3)) == 2  # ... and followed from the next frame on


def test_max_people_and_no_duplicates_from_overlapping_tiles():
    blaze, _ = _detector(max_people=2)
    people = blaze.detect(_image([(320, 150, 200), (60, 100, 150), (590, 100, 150)]), 0)
    assert len(people) == 2
    blaze, _ = _detector()
    assert len(blaze.detect(_image([(320, 150, 200)]), 0)) == 1  # seen in both tiles, one person


def test_reset_forgets_everyone_and_detects_again():
    blaze, net = _detector(detect_every=100)
    first = blaze.detect(_image([(200, 150, 200)]), 0)
    blaze.reset()
    again = blaze.detect(_image([(200, 150, 200)]), 1)
    assert net.calls == 2 and again[0].source_id != first[0].source_id


def test_bad_settings_and_images_are_rejected_with_the_value():
    with pytest.raises(DetectorError, match="min_presence 1.5"):
        BlazePoseConfig(min_presence=1.5)
    blaze, _ = _detector()
    with pytest.raises(DetectorError, match=r"\(480, 640\)"):
        blaze.detect(np.zeros((480, 640), np.uint8), 0)
    for height, width in ((1, 32767), (32767, 1), (20, 640), (480, 2000)):  # no tile per few pixels
        with pytest.raises(DetectorError, match=f"image {width}x{height}: expected a camera picture"):
            blaze.detect(np.zeros((height, width, 3), np.uint8), 0)
