"""recorder: what a user of the pipeline sees, kept: an MCAP bag of the outputs, latency, and an overlay video.

Subscribes to the output topics as serialized bytes and writes them to a rosbag2 MCAP file unchanged
(type hashes included, so ``ros2 bag play`` and Foxglove read it), and counts the 3D skeletons that arrive;
with ``render_dir`` set it draws each frame's 2D skeletons beside a 3D view into ``overlay.mp4`` and a
``contact_sheet.png``. Everything it holds is bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from pose3d_ros.layouts import H36M17
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray
from pose3d_ros.render import (
    OverlayVideoWriter,
    contact_sheet,
    draw_skeleton_2d,
    render_3d_panel,
    save_png,
    side_by_side,
    track_color,
)
from pose3d_ros.ros import qos, share_dir
from pose3d_ros.ros.conversions import image_msg_to_rgb, stamp_ns

# topic -> (message class, QoS the recorder subscribes with)
OUTPUT_TOPICS = {
    "skeletons_2d": (Skeleton2DArray, qos.RESULTS),
    "skeletons_3d": (Skeleton3DArray, qos.RESULTS),
    "skeleton_markers": (MarkerArray, qos.RESULTS),
    "camera_info": (CameraInfo, qos.SENSOR),
    "/tf": (TFMessage, qos.TF),
    "/diagnostics": (DiagnosticArray, qos.RESULTS),
}
_MESSAGES = ("Keypoint2D", "Skeleton2D", "Skeleton2DArray", "Skeleton3D", "Skeleton3DArray")
# Frames held while their skeletons are on the way; older ones are drawn without.
_PENDING_FRAMES = 30
_SHEET_FRAMES = 12


def _typestore():
    """rosbags' Kilted types plus this package's, read from its installed .msg files."""
    store = get_typestore(Stores.ROS2_KILTED)
    share = share_dir() / "msg"
    types = {}
    for name in _MESSAGES:
        types.update(get_types_from_msg((share / f"{name}.msg").read_text(), f"pose3d_ros/msg/{name}"))
    store.register(types)
    return store


class Recorder(Node):
    """Records output topics to ``bag_path`` (MCAP); optionally renders an overlay video into ``render_dir``.
    Without ``bag_path`` it only counts the 2D and 3D messages, as an observer that costs the graph least."""

    def __init__(self, bag_path: Path | None, render_dir: Path | None = None, fps: float = 30.0, **kwargs):
        super().__init__("recorder", **kwargs)
        self._lock = threading.Lock()
        self._closed = False
        self._writer = None
        topics = OUTPUT_TOPICS
        if bag_path is None:
            topics = {t: OUTPUT_TOPICS[t] for t in ("skeletons_2d", "skeletons_3d")}
        else:
            self._writer = Writer(bag_path, version=9, storage_plugin=StoragePlugin.MCAP)
            self._writer.open()
            store = _typestore()
        self._connections = {}
        for topic, (cls, profile) in topics.items():
            name = self.resolve_topic_name(topic)
            if self._writer is not None:
                self._connections[name] = self._writer.add_connection(name, _type_name(cls), typestore=store)
            self.create_subscription(cls, topic, lambda raw, n=name: self._record(n, raw), profile, raw=True)
        self.messages_2d = 0
        self.messages_3d = 0
        self.skeletons_3d = 0
        self.first_3d_s: float | None = None
        self.last_3d_s: float | None = None
        self._render_dir = render_dir
        self.renders = render_dir is not None
        if self.renders:
            self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
            self._people_2d: dict[int, Skeleton2DArray] = {}
            self._video = OverlayVideoWriter(render_dir / "overlay.mp4", fps)
            self._sheet: list[np.ndarray] = []
            self._sheet_stride = 15
            self._written = 0
            self._view_centre_m: np.ndarray | None = None
            self._floor_y_m = 1.5
            self.create_subscription(Image, "image_raw", self._on_image, qos.SENSOR)

    def _record(self, topic: str, raw: bytes) -> None:
        now_ns = time.time_ns()
        with self._lock:
            if self._closed:
                return
            if self._writer is not None:
                self._writer.write(self._connections[topic], now_ns, raw)
        if topic.endswith("/skeletons_3d"):
            self._on_skeletons_3d(deserialize_message(raw, Skeleton3DArray), now_ns)
        elif topic.endswith("/skeletons_2d"):
            self.messages_2d += 1
            if not self.renders:
                return
            msg = deserialize_message(raw, Skeleton2DArray)
            with self._lock:
                self._people_2d[stamp_ns(msg.header)] = msg

    def _on_skeletons_3d(self, msg: Skeleton3DArray, now_ns: int) -> None:
        t = now_ns / 1e9
        self.messages_3d += 1
        self.skeletons_3d += len(msg.skeletons)
        self.first_3d_s = self.first_3d_s or t
        self.last_3d_s = t
        if self.renders:
            self._draw(stamp_ns(msg.header), msg)

    def _on_image(self, msg: Image) -> None:
        with self._lock:
            self._frames[stamp_ns(msg.header)] = image_msg_to_rgb(msg).copy()
            while len(self._frames) > _PENDING_FRAMES:
                self._write_frame(*self._frames.popitem(last=False), None)

    def _draw(self, t_ns: int, msg_3d: Skeleton3DArray) -> None:
        with self._lock:
            if t_ns not in self._frames:
                return
            # Frames before this one got no skeletons (dropped by a busy detector): write them as they are.
            while self._frames:
                stamp, frame = self._frames.popitem(last=False)
                if stamp == t_ns:
                    self._write_frame(stamp, frame, msg_3d)
                    break
                self._write_frame(stamp, frame, None)

    def _write_frame(self, t_ns: int, frame: np.ndarray, msg_3d: Skeleton3DArray | None) -> None:
        msg_2d = self._people_2d.pop(t_ns, None)
        for stale in [k for k in self._people_2d if k < t_ns]:
            del self._people_2d[stale]
        if msg_2d is not None:
            for s in msg_2d.skeletons:
                kp = np.array([[k.x_px, k.y_px, k.confidence] for k in s.keypoints], np.float32)
                draw_skeleton_2d(frame, kp[:, :2], kp[:, 2], H36M17, color=track_color(s.track_id))
        skeletons, ids = [], []
        for s in msg_3d.skeletons if msg_3d is not None else []:
            skeletons.append(np.array([[p.x, p.y, p.z] for p in s.joints], np.float32))
            ids.append(s.track_id)
        self._follow(skeletons)
        panel = render_3d_panel(skeletons, H36M17, size=(frame.shape[0], frame.shape[0]), track_ids=ids,
                                center_m=tuple(self._view_centre_m if self._view_centre_m is not None else (0, 0.5, 3)),
                                ground_y_m=self._floor_y_m)
        composite = side_by_side(frame, panel)
        self._video.write(composite)
        if self._written % self._sheet_stride == 0:
            self._sheet.append(composite)
            if len(self._sheet) > _SHEET_FRAMES:
                self._sheet = self._sheet[::2]
                self._sheet_stride *= 2
        self._written += 1

    def _follow(self, skeletons: list[np.ndarray], smoothing: float = 0.1) -> None:
        """Move the 3D view's centre to the people (pelvis mean) and its floor to their ankles, smoothly."""
        finite = [s for s in skeletons if np.isfinite(s).all()]
        if not finite:
            return
        centre = np.mean([s[0] for s in finite], axis=0)
        floor = max(float(s[[H36M17.index["left_ankle"], H36M17.index["right_ankle"]], 1].max()) for s in finite)
        if self._view_centre_m is None:
            self._view_centre_m, self._floor_y_m = centre, floor
        else:
            self._view_centre_m += smoothing * (centre - self._view_centre_m)
            self._floor_y_m += smoothing * (floor - self._floor_y_m)

    def close(self) -> None:
        """Finish the bag, and the video and contact sheet if rendering."""
        with self._lock:
            self._closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            if self.renders:
                while self._frames:
                    self._write_frame(*self._frames.popitem(last=False), None)
                self._video.close()
                if self._sheet:
                    save_png(self._render_dir / "contact_sheet.png", contact_sheet(self._sheet, columns=3))


def _type_name(cls: type) -> str:
    """ROS type name of a generated message class, e.g. 'pose3d_ros/msg/Skeleton3DArray'."""
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"
