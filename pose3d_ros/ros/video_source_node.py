"""video_source: publish a video file or a camera device as sensor_msgs/Image + CameraInfo.

Publishes ``image_raw`` (rgb8 or bgr8) and ``camera_info`` with the same header: the stamp is the time the
frame was read (the node clock), the frame id the camera optical frame. Frames are letterboxed to
``width`` x ``height`` with one scale, and the intrinsics follow. Publishing runs on its own thread so the
rate does not depend on the executor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from itertools import cycle, islice
from pathlib import Path

import cv2
import numpy as np
from rclpy._rclpy_pybind11 import RCLError
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from pose3d_ros.camera import CameraModel
from pose3d_ros.image import letterbox, rgb_to_image_fields
from pose3d_ros.ros import qos, spin_nodes
from pose3d_ros.ros.conversions import camera_info_msg
from pose3d_ros.ros.params import declare


def demo_video() -> Path:
    """The embedded default: Sports2D's demo video (two people walking, 30 fps), installed by tools/setup.sh."""
    import Sports2D

    return Path(Sports2D.__file__).parent / "Demo" / "demo.mp4"


# Frames ``preload`` holds at most: 600 at 640x480 rgb8 are 550 MB.
PRELOAD_MAX_FRAMES = 600

PARAMETERS = {
    "video": ("", "Video file path, or a camera device index ('0') or path ('/dev/video0'); "
                  "'' = the Sports2D demo video"),
    "loop": (False, "Start the file again at its end instead of stopping"),
    "fps": (0.0, "Publish rate in Hz; 0 = the file's own frame rate (cameras run at their own rate)"),
    "as_fast_as_possible": (False, "Publish frames back to back, ignoring fps (benchmarks)"),
    "width": (640, "Output width in pixels (letterboxed, one scale keeps the aspect); 0 = the source's size"),
    "height": (480, "Output height in pixels; 0 = the source's size"),
    "encoding": ("rgb8", "Image encoding: rgb8 or bgr8"),
    "frame_id": ("camera_optical_frame", "TF frame of the camera (optical convention: x right, y down, z forward)"),
    "camera_matrix": ([0.0], "Row-major 3x3 K of the source video in its own pixels; [0.0] = unknown "
                             "(see horizontal_fov_deg)"),
    "horizontal_fov_deg": (0.0, "Without camera_matrix: assume this horizontal field of view (degrees); "
                                "0 = publish an all-zero K (uncalibrated)"),
    "max_frames": (0, "Stop after this many frames; 0 = no limit"),
    "start_frame": (0, "A file starts at this frame (0-based), and so does each loop"),
    "preload": (False, f"Decode a file's frames (at most {PRELOAD_MAX_FRAMES}) before publishing, so decoding, which "
                       "a camera does not do, takes no CPU from the pipeline (benchmarks)"),
    "min_subscribers": (1, "A file waits (at most wait_for_graph_s) for this many image_raw subscribers before "
                           "playing, so its first frames are not lost to discovery"),
    "min_camera_info_subscribers": (1, "... and for this many camera_info subscribers: the lifter subscribes once "
                                       "its model is loaded, so the whole graph is ready; 0 = do not wait for it"),
    "wait_for_graph_s": (60.0, "Longest wait for those subscribers (seconds); then the file plays anyway, with a "
                               "warning"),
}


class VideoSource(Node):
    def __init__(self, **kwargs):
        super().__init__("video_source", **kwargs)
        self.p = declare(self, PARAMETERS)
        if self.p["encoding"] not in ("rgb8", "bgr8"):
            raise ValueError(f"encoding '{self.p['encoding']}' not supported; expected rgb8 or bgr8")
        self._capture, self._is_file, self.source_fps = self._open(self.p["video"])
        self._camera, out_w, out_h = self._camera_model(int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                                        int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self._size = (out_w, out_h)
        self.image_pub = self.create_publisher(Image, "image_raw", qos.CAMERA_PUBLISHER)
        self._info_pub = self.create_publisher(CameraInfo, "camera_info", qos.CAMERA_PUBLISHER)
        self.frames_published = 0
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="video_source", daemon=True)

    def start(self) -> None:
        """Begin publishing (on a thread of its own)."""
        self._thread.start()

    def _open(self, video: str) -> tuple[cv2.VideoCapture, bool, float]:
        if video == "":
            video = str(demo_video())
        is_device = video.isdigit() or video.startswith("/dev/video")
        if not is_device and not Path(video).is_file():
            raise FileNotFoundError(f"video '{video}' not found; expected a video file, a device index or /dev/videoN")
        capture = cv2.VideoCapture(int(video) if video.isdigit() else video)
        if not capture.isOpened():
            raise RuntimeError(f"could not open video '{video}' with OpenCV")
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if not is_device and not 0 <= self.p["start_frame"] < max(frames, 1):
            raise ValueError(f"start_frame {self.p['start_frame']}; expected 0 to {frames - 1} for '{video}'")
        if not is_device:
            capture.set(cv2.CAP_PROP_POS_FRAMES, self.p["start_frame"])
        fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        self.get_logger().info(f"publishing '{video}' ({fps:.1f} fps source) on {self.resolve_topic_name('image_raw')}")
        return capture, not is_device, fps

    def _camera_model(self, src_w: int, src_h: int) -> tuple[CameraModel, int, int]:
        """Intrinsics of the published image, and its size."""
        out_w = self.p["width"] or src_w
        out_h = self.p["height"] or src_h
        scale = min(out_w / src_w, out_h / src_h)
        off_x, off_y = (out_w - round(src_w * scale)) // 2, (out_h - round(src_h * scale)) // 2
        k = np.asarray(self.p["camera_matrix"], np.float64)
        if k.size == 9 and k.any():
            source = CameraModel.from_camera_info(k, src_w, src_h)
        elif self.p["horizontal_fov_deg"] > 0:
            # A field of view the user states is their calibration, however rough: publish it as such.
            source = CameraModel(CameraModel.nominal(src_w, src_h, self.p["horizontal_fov_deg"]).K, src_w, src_h)
        else:
            return CameraModel(np.zeros((3, 3)), out_w, out_h, calibrated=False), out_w, out_h
        K = source.K.copy()
        K[:2] *= scale
        K[0, 2] += off_x
        K[1, 2] += off_y
        return CameraModel(K, out_w, out_h), out_w, out_h

    def _wait_for_graph(self) -> None:
        """Wait (at most wait_for_graph_s) until the graph this file feeds is there, so no frame is played to
        nobody: image_raw's and camera_info's subscribers, as min_subscribers and min_camera_info_subscribers ask."""
        wanted = {self.image_pub: self.p["min_subscribers"], self._info_pub: self.p["min_camera_info_subscribers"]}
        start = time.monotonic()
        waiting_logged = False
        while not self._stop.is_set():
            missing = [f"{pub.topic_name} {pub.get_subscription_count()}/{n}" for pub, n in wanted.items()
                       if pub.get_subscription_count() < n]
            if not missing:
                if waiting_logged:
                    self.get_logger().info(f"graph ready after {time.monotonic() - start:.1f} s; playing")
                return
            if time.monotonic() - start > self.p["wait_for_graph_s"]:
                self.get_logger().warning(f"subscribers still missing after {self.p['wait_for_graph_s']:g} s "
                                          f"({', '.join(missing)}); playing anyway")
                return
            if not waiting_logged and time.monotonic() - start > 1.0:
                self.get_logger().info(f"waiting for the graph before playing (subscribers: {', '.join(missing)})")
                waiting_logged = True
            time.sleep(0.05)

    def _read(self, loop: bool) -> Iterator[np.ndarray]:
        """Frames as published: RGB, letterboxed to the output size; with ``loop`` a file starts again at its end."""
        while not self._stop.is_set():
            ok, bgr = self._capture.read()
            if not ok and self._is_file and loop:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, self.p["start_frame"])
                ok, bgr = self._capture.read()
            if not ok:
                return
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            yield rgb if rgb.shape[1::-1] == self._size else letterbox(rgb, *self._size).image

    def _frames(self) -> Iterator[np.ndarray]:
        """What to publish, at most max_frames of it: read live, or decoded beforehand with ``preload``."""
        limit = self.p["max_frames"] or None
        if not self.p["preload"]:
            return islice(self._read(self.p["loop"]), limit)
        frames = list(islice(self._read(loop=False), min(limit or PRELOAD_MAX_FRAMES, PRELOAD_MAX_FRAMES)))
        if len(frames) == PRELOAD_MAX_FRAMES:
            self.get_logger().warning(f"preload keeps the first {PRELOAD_MAX_FRAMES} frames only")
        self.get_logger().info(f"preloaded {len(frames)} frames")
        return islice(cycle(frames), limit) if self.p["loop"] else iter(frames)

    def _run(self) -> None:
        frames = self._frames()
        if self._is_file:
            self._wait_for_graph()
        period = 0.0 if self.p["as_fast_as_possible"] or not self._is_file else 1.0 / (self.p["fps"] or self.source_fps)
        next_time = time.monotonic()
        for rgb in frames:
            if self._stop.is_set():
                break
            if period:
                next_time += period
                time.sleep(max(0.0, next_time - time.monotonic()))
            self._publish(rgb, self._camera)
        self._capture.release()
        self.get_logger().info(f"video finished after {self.frames_published} frames")
        self.finished.set()

    def _publish(self, rgb: np.ndarray, camera: CameraModel) -> None:
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.p["frame_id"])
        encoding, step, data = rgb_to_image_fields(rgb, self.p["encoding"])
        image = Image(header=header, height=rgb.shape[0], width=rgb.shape[1], encoding=encoding, step=step)
        image.data = data
        try:
            self.image_pub.publish(image)
            self._info_pub.publish(camera_info_msg(header, camera))
        except RCLError as err:
            if self.context.ok():  # else shutting down (Ctrl-C): nothing to report, nowhere to report it
                self.get_logger().warning(f"publishing frame {self.frames_published} failed: {err}")
            return
        self.frames_published += 1

    def destroy_node(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    def make_nodes() -> list:
        node = VideoSource()
        node.start()
        return [node]

    spin_nodes(make_nodes, args, until=lambda nodes: nodes[0].finished.is_set())
