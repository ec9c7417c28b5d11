"""lifter: tracked 2D skeletons -> 3D skeletons in the camera frame, /tf frames and rviz markers.

Subscribes ``skeletons_2d`` (pose3d_ros/Skeleton2DArray, Human3.6M-17) and ``camera_info``; keeps a causal
window per track and lifts each person's newest frame. A model that reads image crops also subscribes
``image_raw`` (the detector's images) and lifts each message with the image of exactly its stamp. Publishes, all
with the source image's header:
``skeletons_3d`` (pose3d_ros/Skeleton3DArray, metres, camera optical frame), ``/tf`` (``body_<id>`` in the
camera frame and the links of REP-155's human model, ``<link>_<id>``, in their parent links),
``skeleton_markers`` (MarkerArray) and ROS4HRI's ``/humans/bodies/...`` tree (ros/hri.py). Each person is one
REP-155 body with a 5-letter id (bodies.py).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from pose3d_ros.bodies import BodyRegistry
from pose3d_ros.body import body_rotation
from pose3d_ros.camera import CameraInfoError, CameraModel
from pose3d_ros.floor import Floor
from pose3d_ros.image import ImageFormatError, depth_to_metres
from pose3d_ros.lift import LifterError, make_lifter, resolve_model
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray
from pose3d_ros.people import Person3D
from pose3d_ros.pipeline import IMAGE_ISSUES, LiftStage
from pose3d_ros.predict import MotionExtrapolator
from pose3d_ros.ros import qos, spin_node
from pose3d_ros.ros.conversions import (
    camera_info_to_model,
    image_msg_to_rgb,
    skeleton_markers,
    skeletons_2d_from_msg,
    skeletons_3d_msg,
    stamp_ns,
    stamp_problem,
    transforms,
)
from pose3d_ros.ros.diagnostics import Health
from pose3d_ros.ros.hri import HriBodies
from pose3d_ros.ros.params import declare
from pose3d_ros.ros.tf_tree import TfTree

PARAMETERS = {
    "model": ("", "Lifter model: a file (.onnx, or .pt for the torch backend), or the name of one in "
                  "pose3d_ros/weights (e.g. causal_liu_rf81); '' = the package's default causal model"),
    "backend": ("auto", "Lifter runtime: auto (the first that runs of tensorrt, onnxruntime_cuda, torch_cuda, "
                        "onnxruntime on the CPU; the choice and why is logged), or one of them, or torch"),
    "precision": ("fp16", "TensorRT precision: fp16, fp32 or int8"),
    "engine_dir": ("", "Folder of cached TensorRT engines; '' = ~/.cache/pose3d_ros/engines"),
    "num_threads": (1, "CPU threads for the lifter runtime"),
    "max_people": (16, "Most people buffered and lifted at once; the longest-unseen one makes room"),
    "max_gap_s": (0.5, "A person unseen this long (seconds) starts a fresh window"),
    "consistent_bones": (False, "Each person keeps one set of bone lengths (the median of their first second) in "
                                "every frame; off by default: see README, 'One body per track'"),
    "outside_margin": (0.5, "Keypoints farther outside the image than this fraction of its size count as missing"),
    "use_depth": (False, "Refine each person's distance with a depth image registered to the colour image, "
                         "topic 'depth' (16UC1 mm or 32FC1 m; remap it, e.g. to aligned_depth_to_color/image_raw)"),
    "depth_max_age_s": (0.05, "A depth image is used for keypoints at most this far apart in time (seconds)"),
    "floor_frame": ("", "A frame whose z = 0 is the floor, z up (e.g. REP-120's base_footprint): people standing on "
                        "it are sized and placed from their feet (root_source ROOT_FROM_FLOOR), the camera's pose "
                        "read from /tf and /tf_static; '' = camera_height_m, or no floor"),
    "camera_height_m": (0.0, "Without floor_frame, a fixed camera: its optical centre's height above the floor "
                             "(metres); 0 = no floor"),
    "camera_pitch_deg": (0.0, "With camera_height_m: how far the camera looks down (degrees)"),
    "camera_roll_deg": (0.0, "With camera_height_m: its roll about the optical axis (degrees, right-handed)"),
    "publish_tf": (True, "Publish body_<id> and the links of REP-155's human model (<link>_<id>) on /tf"),
    "hri": (True, "Publish ROS4HRI's REP-155 topic tree: /humans/bodies/tracked, and per body roi, skeleton2d, "
                  "joint_states and its URDF (/humans/bodies/<id>/urdf, parameter human_description_<id>)"),
    "hri_cropped": (False, "Also publish /humans/bodies/<id>/cropped: the body's box cut from image_raw (an image "
                           "per person per frame; subscribes image_raw)"),
    "hri_grace_s": (5.0, "A body unseen this long (seconds) has left: its publishers are destroyed, and its "
                           "track, seen again, is a new body"),
    "publish_markers": (True, "Publish skeleton_markers (visualization_msgs/MarkerArray) for rviz"),
    "marker_lifetime_s": (0.5, "Markers of a person who is no longer seen vanish after this many seconds"),
    "min_marker_confidence": (0.3, "Joints below this 2D confidence are not drawn"),
    "lookahead_s": (0.0, "Also publish skeletons_3d_ahead: each pose predicted this far past its image stamp "
                         "(seconds); 0 = off"),
    "lookahead_adds_latency": (False, "Add each frame's age at publish time to lookahead_s, so the prediction is "
                                      "for the moment it is published"),
    "lookahead_history": (6, "Frames of each person's motion fitted for the prediction"),
    "image_cache_size": (8, "Models that read image crops, and hri_cropped: newest images on 'image_raw' kept to "
                            "match skeletons_2d by stamp; more than the detector's delay in frames"),
}


class Lifter(Node):
    def __init__(self, **kwargs):
        super().__init__("lifter", **kwargs)
        self.p = declare(self, PARAMETERS)
        self.health = Health(self)
        self.stage: LiftStage | None = None
        try:
            model = resolve_model(self.p["model"], self.p["backend"])
            lifter = make_lifter(self.p["backend"], model, self.p["num_threads"], max_people=self.p["max_people"],
                                 precision=self.p["precision"], engine_dir=self.p["engine_dir"] or None,
                                 log=self.get_logger().info)
            self.stage = LiftStage(lifter, self.p["max_people"], self.p["max_gap_s"], self.p["outside_margin"],
                                   consistent_bones=self.p["consistent_bones"])
            crops = (f", {self.stage.crop_size}x{self.stage.crop_size} crops of "
                     f"{self.resolve_topic_name('image_raw')}" if self.stage.crop_size else "")
            self.get_logger().info(f"lifting with {model.name} ({self.p['backend']}, receptive field "
                                   f"{lifter.receptive_field} frames{crops})")
        except (LifterError, ValueError) as err:
            self.health.set_fatal(f"no lifter, no 3D output: {err}")
        self._camera: CameraModel | None = None
        self._tf = TfTree(self) if self.p["floor_frame"] else None
        self._fixed_floor: Floor | None = None
        if not self.p["floor_frame"] and self.p["camera_height_m"] != 0:
            try:
                self._fixed_floor = Floor.from_height_pitch(self.p["camera_height_m"], self.p["camera_pitch_deg"],
                                                            self.p["camera_roll_deg"])
            except ValueError as err:
                self.health.set_fatal(f"camera_height_m, camera_pitch_deg, camera_roll_deg: {err}")
        self.messages_published = 0
        self.skeletons_published = 0
        # Seconds from image stamp to 3D publish, per message (bounded), for benchmarks and diagnostics.
        self.latency_s: deque[float] = deque(maxlen=10_000)
        self.skeletons_pub = self.create_publisher(Skeleton3DArray, "skeletons_3d", qos.RESULTS)
        self._ahead_pub = None
        if self.p["lookahead_s"] > 0 or self.p["lookahead_adds_latency"]:
            self._motion = MotionExtrapolator(self.p["lookahead_history"], self.p["max_people"])
            self._ahead_pub = self.create_publisher(Skeleton3DArray, "skeletons_3d_ahead", qos.RESULTS)
        # A body follows its track while the tracker keeps the id, through frames the detector skipped when busy,
        # for as long as its publishers live; the window (max_gap_s) starts over sooner, its context stale.
        self._bodies = BodyRegistry(max(self.p["max_gap_s"], self.p["hri_grace_s"]), 4 * self.p["max_people"])
        self._hri = (HriBodies(self, self.p["hri_grace_s"], 4 * self.p["max_people"], self.p["hri_cropped"])
                     if self.p["hri"] else None)
        self._tf_pub = self.create_publisher(TFMessage, "/tf", qos.TF) if self.p["publish_tf"] else None
        self._marker_pub = (self.create_publisher(MarkerArray, "skeleton_markers", qos.RESULTS)
                            if self.p["publish_markers"] else None)
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos.SENSOR)
        self._depth: Image | None = None
        if self.p["use_depth"]:
            self.create_subscription(Image, "depth", self._on_depth, qos.SENSOR)
        # (stamp_ns, image) of the newest images, only for a model that reads crops: keypoint models pay nothing.
        self._images: deque[tuple[int, Image]] | None = None
        if self.stage is not None and (self.stage.crop_size or self._hri is not None and self.p["hri_cropped"]):
            self._images = deque(maxlen=max(1, self.p["image_cache_size"]))
            self.create_subscription(Image, "image_raw", self._on_image, qos.SENSOR)
        self.create_subscription(Skeleton2DArray, "skeletons_2d", self._on_skeletons, qos.RESULTS)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            camera = camera_info_to_model(msg)
        except CameraInfoError as err:
            self.health.problem("bad_camera_info", f"{err}; keeping the previous intrinsics")
            return
        if not camera.calibrated:
            self.health.problem("uncalibrated_camera", f"camera_info has an all-zero K: assuming a "
                                f"{camera.width}x{camera.height} pinhole with a 60 degree horizontal field of view; "
                                "3D positions are approximate (root_source ROOT_ASSUMED_DEPTH); calibrate the camera")
        self._camera = camera

    def _on_depth(self, msg: Image) -> None:
        self._depth = msg

    def _on_image(self, msg: Image) -> None:
        self._images.append((stamp_ns(msg.header), msg))

    def _image_for(self, t_ns: int) -> np.ndarray | None:
        """The cached image of exactly stamp ``t_ns`` as (H, W, 3) uint8 RGB; None (counted) when there is none."""
        consequence = "frame not lifted (this model reads image crops" if self.stage.crop_size else (
            "no /humans/bodies/<id>/cropped this frame (hri_cropped")
        msg = next((m for stamp, m in reversed(self._images) if stamp == t_ns), None)
        if msg is None:
            cached = (f"{len(self._images)} cached, stamps {self._images[0][0]}..{self._images[-1][0]} ns"
                      if self._images else "none cached")
            self.health.problem("image_dropped", f"no image on {self.resolve_topic_name('image_raw')} with the "
                                f"skeletons' stamp {t_ns} ns ({cached}); {consequence}; expected the detector's "
                                "images, or a larger image_cache_size)")
            return None
        try:
            return image_msg_to_rgb(msg)
        except ImageFormatError as err:
            self.health.problem("bad_image", f"{err}; {consequence})")
            return None

    def _depth_for(self, t_ns: int) -> np.ndarray | None:
        """The newest depth image in metres if it is close enough in time to ``t_ns``, else None."""
        msg = self._depth
        if msg is None:
            topic = self.resolve_topic_name("depth")
            self.health.problem("no_depth", f"use_depth is set but nothing arrived on {topic}; placing from keypoints")
            return None
        age_s = abs(t_ns - stamp_ns(msg.header)) * 1e-9
        if age_s > self.p["depth_max_age_s"]:
            self.health.problem("depth_stale", f"newest depth image is {age_s * 1e3:.0f} ms from the keypoints; "
                                f"expected at most {self.p['depth_max_age_s'] * 1e3:.0f} ms; placing from keypoints")
            return None
        try:
            return depth_to_metres(msg.encoding, msg.height, msg.width, msg.step, msg.data, bool(msg.is_bigendian))
        except ImageFormatError as err:
            self.health.problem("bad_depth", f"{err}; placing from keypoints")
            return None

    def _camera_for(self, msg: Skeleton2DArray) -> CameraModel | None:
        if self._camera is not None:
            camera, problem = self._camera.for_image(msg.image_width, msg.image_height)
            if problem is not None:
                self.health.problem("camera_info_size", problem)
            return camera
        if msg.image_width == 0 or msg.image_height == 0:
            self.health.problem("no_camera_info", "no camera_info received and skeletons_2d carries no image size; "
                                "message skipped")
            return None
        self.health.problem("no_camera_info", f"no camera_info received on {self.resolve_topic_name('camera_info')}"
                            f" yet; assuming an uncalibrated {msg.image_width}x{msg.image_height} camera")
        return CameraModel.nominal(msg.image_width, msg.image_height)

    def _floor_for(self, camera_frame: str) -> Floor | None:
        """The floor in ``camera_frame`` (the optical frame of the keypoints' image), or None (counted) while the
        transform from floor_frame is not known."""
        if self._tf is None:
            return self._fixed_floor
        pose = self._tf.lookup(self.p["floor_frame"], camera_frame)
        if pose is None:
            self.health.problem("no_floor", f"no transform between floor_frame '{self.p['floor_frame']}' and "
                                f"'{camera_frame}' on /tf or /tf_static yet; placing people from their keypoints")
            return None
        try:
            return Floor.from_camera_pose(pose)
        except ValueError as err:
            self.health.problem("bad_floor", f"floor_frame '{self.p['floor_frame']}' seen from '{camera_frame}': "
                                f"{err}; placing people from their keypoints")
            return None

    def _on_skeletons(self, msg: Skeleton2DArray) -> None:
        if self.stage is None:
            return
        problem = stamp_problem(msg.header)
        if problem is not None:
            self.health.problem("bad_stamp", problem)
            return
        t_ns = stamp_ns(msg.header)
        camera = self._camera_for(msg)
        if camera is None:
            return
        people, rejected = skeletons_2d_from_msg(msg)
        for text in rejected:
            self.health.problem("bad_layout", f"{text}; skeleton skipped")
        depth_m = self._depth_for(t_ns) if self.p["use_depth"] else None
        rgb = self._image_for(t_ns) if self._images is not None and people else None  # crops, or hri_cropped
        people_3d, issues = self.stage.process(t_ns, people, camera, depth_m, rgb, self._floor_for(msg.header.frame_id))
        for issue in issues:
            if issue.kind != "image_missing":  # _image_for has already counted and said why
                self.health.problem(issue.kind, issue.message)
        kinds = {issue.kind for issue in issues}
        if "time_jump_back" in kinds:
            self._reset_bodies()
        if kinds & {*IMAGE_ISSUES, "stamp_out_of_order"}:
            return  # not lifted: an empty message would say that nobody is there
        self._bodies.gone(t_ns)
        poses = self._bodies.update(t_ns, [(p.track_id, (p.joints_cam_m - p.joints_cam_m[0]) @ p.body_rotation)
                                           for p in people_3d])
        body_ids = {pose.body.track_id: pose.body.body_id for pose in poses}
        self.skeletons_pub.publish(skeletons_3d_msg(msg.header, people_3d, body_ids=body_ids))
        self.latency_s.append((self.get_clock().now().nanoseconds - t_ns) * 1e-9)
        self.messages_published += 1
        self.skeletons_published += len(people_3d)
        if self._ahead_pub is not None:
            self._publish_ahead(msg.header, t_ns, people_3d, body_ids)
        if self._tf_pub is not None and people_3d:
            self._tf_pub.publish(TFMessage(transforms=transforms(msg.header, people_3d, poses)))
        if self._hri is not None:
            self._hri.publish(msg.header, msg.image_width, msg.image_height, poses,
                              {p.track_id: p for p in people}, rgb)
        if self._marker_pub is not None and people_3d:
            self._marker_pub.publish(skeleton_markers(msg.header, people_3d, self.p["marker_lifetime_s"],
                                                      self.p["min_marker_confidence"]))

    def _reset_bodies(self) -> None:
        """Time jumped back: motion histories and bodies start over (ids are new, never reused)."""
        if self._ahead_pub is not None:
            self._motion.reset()
        self._bodies.reset()
        if self._hri is not None:
            self._hri.reset()

    def _publish_ahead(self, header, t_ns: int, people_3d: list[Person3D], body_ids: dict[int, str]) -> None:
        """Each person's pose predicted ``lookahead`` past the image stamp, on skeletons_3d_ahead."""
        self._motion.drop_stale(t_ns)
        lookahead_ns = int(self.p["lookahead_s"] * 1e9)
        if self.p["lookahead_adds_latency"]:
            lookahead_ns += max(0, self.get_clock().now().nanoseconds - t_ns)
        ahead = []
        for p in people_3d:
            self._motion.update(p.track_id, t_ns, p.joints_cam_m)
            joints = self._motion.predict(p.track_id, lookahead_ns * 1e-9).astype(np.float32)
            ahead.append(replace(p, joints_cam_m=joints, body_rotation=body_rotation(joints[None])[0]))
        self._ahead_pub.publish(skeletons_3d_msg(header, ahead, lookahead_ns, body_ids))


def main(args: list[str] | None = None) -> None:
    spin_node(Lifter, args)
