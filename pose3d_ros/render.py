"""Pictures people look at: 2D skeletons on frames, a small 3D view, side-by-side video and contact sheets.

Pure OpenCV on (H, W, 3) uint8 RGB arrays; colours are RGB tuples.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from pose3d_ros.layouts import Layout

# Distinct, legible on both dark and light backgrounds; a track keeps its colour (id modulo length).
TRACK_COLORS: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128),
)
_PANEL_BG = (24, 24, 28)
_GRID = (70, 70, 78)
_GRID_POST = (120, 120, 130)
_SHADOW = (56, 56, 64)
_TEXT = (220, 220, 220)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def track_color(track_id: int) -> tuple[int, int, int]:
    """The RGB colour a track id is drawn in."""
    return TRACK_COLORS[track_id % len(TRACK_COLORS)]


def _side(layout: Layout, joints: tuple[int, ...]) -> str:
    """'left', 'right' or 'centre' for a joint or bone, from its joint names."""
    names = [layout.names[j] for j in joints]
    if any(n.startswith("left_") for n in names) and not any(n.startswith("right_") for n in names):
        return "left"
    if any(n.startswith("right_") for n in names) and not any(n.startswith("left_") for n in names):
        return "right"
    return "centre"


def _side_colors(color: tuple[int, int, int]) -> dict[str, tuple[int, int, int]]:
    """Left is the colour lightened, right the colour itself, centre in between, so sides read apart."""
    base = np.asarray(color, dtype=float)
    light = base + (255 - base) * 0.6
    return {
        "right": tuple(int(c) for c in base),
        "left": tuple(int(c) for c in light),
        "centre": tuple(int(c) for c in (base + light) / 2),
    }


def draw_skeleton_2d(
    rgb: np.ndarray,
    keypoints_px: np.ndarray,
    confidence: np.ndarray,
    layout: Layout,
    color: tuple[int, int, int] = TRACK_COLORS[0],
    min_confidence: float = 0.3,
) -> None:
    """Draw bones and joints on (H, W, 3) uint8 RGB in place.

    keypoints_px: (J, 2) pixel (x, y); confidence: (J,) in [0, 1]; joints below ``min_confidence``
    and bones touching them are skipped. Left limbs are drawn lighter than right ones.
    """
    if not rgb.flags.writeable:
        raise ValueError("image to draw on is read-only (a view of a message buffer?); draw on rgb.copy()")
    scale = max(1, round(min(rgb.shape[:2]) / 400))
    visible = (confidence >= min_confidence) & np.isfinite(keypoints_px).all(axis=1)
    points = np.round(np.nan_to_num(keypoints_px)).astype(np.int32)
    colors = _side_colors(color)
    for bone in layout.bones:
        a, b = bone
        if visible[a] and visible[b]:
            cv2.line(rgb, tuple(points[a]), tuple(points[b]), colors[_side(layout, bone)], 2 * scale, cv2.LINE_AA)
    for j in np.flatnonzero(visible):
        cv2.circle(rgb, tuple(points[j]), 2 * scale + 1, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(rgb, tuple(points[j]), 2 * scale, colors[_side(layout, (j,))], -1, cv2.LINE_AA)


def _view_axes(azimuth_deg: float, elevation_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Screen right, screen up and viewing direction, in the camera optical frame (x right, y down, z ahead).

    Azimuth 0 looks along +z like the camera itself; positive azimuth swings the viewer to the
    camera's left, positive elevation raises the viewer so it looks down.
    """
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    up = np.array([0.0, -1.0, 0.0])
    forward = np.cos(el) * np.array([np.sin(az), 0.0, np.cos(az)]) - np.sin(el) * up
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    return right, np.cross(right, forward), forward


def render_3d_panel(
    skeletons: list[np.ndarray],
    layout: Layout,
    size: tuple[int, int] = (480, 480),
    azimuth_deg: float = 35.0,
    elevation_deg: float = 25.0,
    track_ids: list[int] | None = None,
    center_m: tuple[float, float, float] = (0.0, 0.5, 3.0),
    extent_m: float = 5.0,
    ground_y_m: float = 1.5,
) -> np.ndarray:
    """Perspective view of camera-frame skeletons over a ground grid; returns (H, W, 3) uint8 RGB.

    skeletons: list of (J, 3) metres in the camera optical frame (x right, y down, z ahead).
    size: (width, height) in pixels. The virtual viewer orbits ``center_m`` at a fixed distance and
    zoom (``extent_m`` fills the panel), so motion shows as motion. The grid lies at optical
    y = ``ground_y_m`` (the camera's height above the floor for a level camera), 0.5 m spacing;
    each skeleton casts a shadow on it, and the real camera is drawn at the origin with its axes.
    Colour is per track id (default: list position); non-finite joints are skipped.
    """
    width, height = size
    panel = np.full((height, width, 3), _PANEL_BG, dtype=np.uint8)
    right, up, forward = _view_axes(azimuth_deg, elevation_deg)
    center = np.asarray(center_m, dtype=float)
    distance_m = 2.5 * extent_m
    focal_px = min(width, height) * distance_m / (extent_m * 1.2)

    def project(points_m: np.ndarray) -> np.ndarray:
        rel = np.asarray(points_m, dtype=float) - center
        depth = np.maximum(distance_m + rel @ forward, 0.1)
        uv = np.stack([width / 2 + focal_px * (rel @ right) / depth, height / 2 - focal_px * (rel @ up) / depth], -1)
        return np.round(uv).astype(np.int32)

    def on_ground(points_m: np.ndarray) -> np.ndarray:
        return np.concatenate([points_m[..., :1], np.full_like(points_m[..., :1], ground_y_m), points_m[..., 2:]], -1)

    half = extent_m / 2
    for t in np.arange(-half, half + 1e-9, 0.5):
        x_line = [(center[0] + t, ground_y_m, center[2] - half), (center[0] + t, ground_y_m, center[2] + half)]
        z_line = [(center[0] - half, ground_y_m, center[2] + t), (center[0] + half, ground_y_m, center[2] + t)]
        for line in (x_line, z_line):
            a, b = project(np.array(line))
            cv2.line(panel, tuple(a), tuple(b), _GRID, 1, cv2.LINE_AA)

    origin = project(np.zeros(3))
    cv2.line(panel, tuple(origin), tuple(project(on_ground(np.zeros(3)))), _GRID_POST, 1, cv2.LINE_AA)
    for axis, label, color in ((0, "x", (230, 80, 80)), (1, "y", (80, 200, 80)), (2, "z", (90, 140, 255))):
        tip = project(np.eye(3)[axis] * 0.5)
        cv2.arrowedLine(panel, tuple(origin), tuple(tip), color, 2, cv2.LINE_AA, tipLength=0.2)
        cv2.putText(panel, label, tuple(tip + 4), _FONT, 0.45, color, 1, cv2.LINE_AA)
    cv2.putText(panel, "camera", tuple(origin + (-58, 18)), _FONT, 0.4, _TEXT, 1, cv2.LINE_AA)

    ids = list(range(len(skeletons))) if track_ids is None else list(track_ids)
    joints = [np.asarray(s, dtype=float) for s in skeletons]
    finite = [np.isfinite(j).all(axis=1) for j in joints]
    for joints_m, ok in zip(joints, finite):
        for bone in layout.bones:
            if ok[bone[0]] and ok[bone[1]]:
                a, b = project(on_ground(joints_m[list(bone)]))
                cv2.line(panel, tuple(a), tuple(b), _SHADOW, 4, cv2.LINE_AA)
    # Far skeletons first so near ones stay on top.
    depths = [float((j[ok] @ forward).mean()) if ok.any() else 0.0 for j, ok in zip(joints, finite)]
    for k in np.argsort(depths)[::-1]:
        joints_m, ok = joints[k], finite[k]
        uv = project(np.where(ok[:, None], joints_m, 0.0))
        colors = _side_colors(track_color(ids[k]))
        for bone in layout.bones:
            if ok[bone[0]] and ok[bone[1]]:
                cv2.line(panel, tuple(uv[bone[0]]), tuple(uv[bone[1]]), colors[_side(layout, bone)], 2, cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(panel, tuple(uv[j]), 3, colors["centre"], -1, cv2.LINE_AA)
    # Labels last and outlined, so no skeleton hides one.
    for k, (joints_m, ok) in enumerate(zip(joints, finite)):
        if ok.any():
            uv = project(joints_m[ok])
            top = uv[np.argmin(uv[:, 1])]
            for color, thickness in ((_PANEL_BG, 4), (track_color(ids[k]), 1)):
                cv2.putText(panel, f"id {ids[k]}", tuple(top + (-14, -10)), _FONT, 0.5, color, thickness, cv2.LINE_AA)

    caption = f"{len(skeletons)} people   grid 0.5 m   az {azimuth_deg:.0f} el {elevation_deg:.0f}"
    cv2.putText(panel, caption, (8, height - 10), _FONT, 0.42, _TEXT, 1, cv2.LINE_AA)
    return panel


def side_by_side(frame_rgb: np.ndarray, panel_rgb: np.ndarray) -> np.ndarray:
    """Frame on the left, panel scaled to the frame's height on the right; (H, W_frame + W_panel', 3) uint8."""
    height = frame_rgb.shape[0]
    panel_w = round(panel_rgb.shape[1] * height / panel_rgb.shape[0])
    panel = cv2.resize(panel_rgb, (panel_w, height), interpolation=cv2.INTER_AREA)
    return np.hstack([frame_rgb, panel])


def contact_sheet(frames: list[np.ndarray], columns: int) -> np.ndarray:
    """Tile RGB frames row by row, each resized to the first frame's size; empty cells are black."""
    if not frames:
        raise ValueError("contact sheet needs at least one frame; got none")
    if columns < 1:
        raise ValueError(f"contact sheet columns {columns} < 1")
    height, width = frames[0].shape[:2]
    rows = -(-len(frames) // columns)
    sheet = np.zeros((rows * height, columns * width, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, columns)
        tile = frame if frame.shape[:2] == (height, width) else cv2.resize(frame, (width, height))
        sheet[r * height:(r + 1) * height, c * width:(c + 1) * width] = tile
    return sheet


def save_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write (H, W, 3) uint8 RGB as PNG, creating the parent directory; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write PNG '{path}'")
    return path


class OverlayVideoWriter:
    """Write RGB frames to an .mp4 (codec 'mp4v'); the frame size is fixed by the first frame.

    with OverlayVideoWriter("runs/demo/overlay.mp4", fps=30) as video:
        video.write(side_by_side(frame, panel))
    """

    def __init__(self, path: str | Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def write(self, frame_rgb: np.ndarray) -> None:
        height, width = frame_rgb.shape[:2]
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height))
            if not self._writer.isOpened():
                raise OSError(f"could not open video '{self.path}' for writing (mp4v, {width}x{height})")
            self._size = (width, height)
        if (width, height) != self._size:
            expected = f"{self._size[0]}x{self._size[1]}"
            raise ValueError(f"video frame is {width}x{height}; expected {expected} like the first")
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> OverlayVideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
