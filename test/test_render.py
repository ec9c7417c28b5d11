"""Drawing: right shapes, pixels actually drawn where (and only where) they should be, files written."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import Sports2D

from pose3d_ros.detect import make_detector, to_layout
from pose3d_ros.layouts import BLAZEPOSE33, H36M17
from pose3d_ros.render import (
    OverlayVideoWriter,
    contact_sheet,
    draw_skeleton_2d,
    render_3d_panel,
    save_png,
    side_by_side,
    track_color,
)

DEMO_VIDEO = Path(Sports2D.__file__).parent / "Demo" / "demo.mp4"

# A standing H36M-17 person in the camera optical frame (x right, y down, z ahead), 3 m away.
STANDING_M = np.array([
    [0, 0.5, 3], [-0.12, 0.5, 3], [-0.12, 0.95, 3], [-0.12, 1.4, 3], [0.12, 0.5, 3], [0.12, 0.95, 3],
    [0.12, 1.4, 3], [0, 0.25, 3], [0, 0, 3], [0, -0.1, 3], [0, -0.2, 3], [0.18, 0, 3], [0.2, 0.3, 3],
    [0.2, 0.55, 3], [-0.18, 0, 3], [-0.2, 0.3, 3], [-0.2, 0.55, 3],
], dtype=np.float32)


def _pixels_of(image: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    return np.all(image == np.asarray(color, dtype=np.uint8), axis=2)


def test_skeleton_2d_draws_in_place_and_skips_unsure_joints():
    image = np.zeros((200, 200, 3), dtype=np.uint8)
    keypoints_px = STANDING_M[:, :2] * 100 + np.array([100, 60], dtype=np.float32)
    confidence = np.ones(17, dtype=np.float32)
    confidence[H36M17.index["left_wrist"]] = 0.1
    draw_skeleton_2d(image, keypoints_px, confidence, H36M17, color=(0, 130, 200))
    assert image.any()
    for side, drawn in (("left", False), ("right", True)):
        wrist, elbow = keypoints_px[[H36M17.index[f"{side}_wrist"], H36M17.index[f"{side}_elbow"]]]
        for x, y in np.round([wrist, (wrist + elbow) / 2]).astype(int):
            assert image[y - 3:y + 4, x - 3:x + 4].any() == drawn, f"{side} forearm drawn: {not drawn}"


def test_skeleton_2d_skips_missing_joints_and_refuses_read_only_images():
    image = np.zeros((200, 200, 3), dtype=np.uint8)
    keypoints_px = STANDING_M[:, :2] * 100 + np.array([100, 60], dtype=np.float32)
    keypoints_px[H36M17.index["head"]] = np.nan
    draw_skeleton_2d(image, keypoints_px, np.ones(17, np.float32), H36M17)
    assert image.any() and not image[:5].any() and not image[:, :5].any()
    image.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        draw_skeleton_2d(image, keypoints_px, np.ones(17, np.float32), H36M17)


def test_left_and_right_limbs_differ_in_colour():
    image = np.zeros((200, 200, 3), dtype=np.uint8)
    keypoints_px = STANDING_M[:, :2] * 100 + np.array([100, 60], dtype=np.float32)
    draw_skeleton_2d(image, keypoints_px, np.ones(17, np.float32), H36M17, color=(230, 25, 75))
    mid_shin = {side: np.round(keypoints_px[[H36M17.index[f"{side}_knee"], H36M17.index[f"{side}_ankle"]]]
                               .mean(axis=0)).astype(int) for side in ("left", "right")}
    left, right = (tuple(image[p[1], p[0]]) for p in (mid_shin["left"], mid_shin["right"]))
    assert left != right and any(left) and any(right)


def test_real_frame_with_real_detection():
    capture = cv2.VideoCapture(str(DEMO_VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 120)
    ok, bgr = capture.read()
    capture.release()
    assert ok
    frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    detector = make_detector("mediapipe_legacy", static_image_mode=True)
    try:
        (det,) = detector.detect(frame, stamp_ns=0)
    finally:
        detector.close()
    drawn = frame.copy()
    draw_skeleton_2d(drawn, det.keypoints_px, det.confidence, BLAZEPOSE33, track_color(0))
    changed = np.any(drawn != frame, axis=2)
    x0, y0, x1, y1 = det.bbox_px.astype(int)
    assert changed.sum() > 2000
    assert changed[y0 - 10:y1 + 10, x0 - 10:x1 + 10].sum() == changed.sum(), "drew outside the person"

    world = to_layout(det, H36M17).world_m + np.array([0, 0.6, 3.5], dtype=np.float32)
    panel = render_3d_panel([world], H36M17, track_ids=[0])
    assert _pixels_of(panel, track_color(0)).any()


def test_panel_shape_and_empty_scene():
    panel = render_3d_panel([], H36M17, size=(320, 240))
    assert panel.shape == (240, 320, 3) and panel.dtype == np.uint8
    assert len(np.unique(panel.reshape(-1, 3), axis=0)) > 2, "no grid or labels drawn"


def test_panel_colours_by_track_and_keeps_a_fixed_scale():
    alone = render_3d_panel([STANDING_M], H36M17, track_ids=[4])
    both = render_3d_panel([STANDING_M, STANDING_M + [1.5, 0, 1.0]], H36M17, track_ids=[4, 7])
    assert _pixels_of(both, track_color(7)).any() and not _pixels_of(alone, track_color(7)).any()
    # Adding a second person does not rescale the first: its label stays where it was.
    label = _pixels_of(alone, track_color(4))
    assert (label & _pixels_of(both, track_color(4))).sum() >= 0.9 * label.sum()
    moved = render_3d_panel([STANDING_M + [0.5, 0, 0]], H36M17, track_ids=[4])
    assert not np.array_equal(moved, alone)


def test_panel_skips_missing_joints():
    skeleton = STANDING_M.copy()
    skeleton[H36M17.index["left_wrist"]] = np.nan
    assert render_3d_panel([skeleton], H36M17).shape == (480, 480, 3)
    assert render_3d_panel([np.full((17, 3), np.nan)], H36M17).shape == (480, 480, 3)


def test_side_by_side_and_contact_sheet_shapes():
    frame = np.full((120, 160, 3), 200, dtype=np.uint8)
    panel = np.full((60, 60, 3), 50, dtype=np.uint8)
    combined = side_by_side(frame, panel)
    assert combined.shape == (120, 280, 3)
    assert (combined[:, :160] == 200).all() and (combined[:, 160:] == 50).all()
    sheet = contact_sheet([combined] * 5, columns=2)
    assert sheet.shape == (360, 560, 3)
    assert sheet[240:, 280:].max() == 0 and sheet[240:, :280].any()
    with pytest.raises(ValueError, match="columns 0 < 1"):
        contact_sheet([frame], columns=0)


def test_save_png_round_trips(tmp_path):
    image = np.zeros((10, 20, 3), dtype=np.uint8)
    image[..., 0] = 255
    path = save_png(tmp_path / "new" / "red.png", image)
    np.testing.assert_array_equal(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB), image)


def test_video_writer_writes_readable_mp4(tmp_path):
    path = tmp_path / "nested" / "overlay.mp4"
    with OverlayVideoWriter(path, fps=15) as video:
        for i in range(6):
            video.write(np.full((96, 128, 3), 40 * i, dtype=np.uint8))
        with pytest.raises(ValueError, match="video frame is 64x48; expected 128x96"):
            video.write(np.zeros((48, 64, 3), dtype=np.uint8))
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 6
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (128, 96)
    capture.release()
