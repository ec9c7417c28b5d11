"""Messages <-> the core's numpy records. The only place that knows both."""

from __future__ import annotations

import math

import numpy as np
import transforms3d
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Pose, TransformStamped
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from pose3d_ros.bodies import BodyPose
from pose3d_ros.camera import CameraModel
from pose3d_ros.image import image_to_rgb
from pose3d_ros.layouts import H36M17, Layout
from pose3d_ros.msg import Keypoint2D, Skeleton2D, Skeleton2DArray, Skeleton3D, Skeleton3DArray
from pose3d_ros.people import Person2D, Person3D
from pose3d_ros.render import track_color


def stamp_ns(header: Header) -> int:
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def stamp_problem(header: Header) -> str | None:
    """Why ``header.stamp`` is no time a frame can have (None when it is fine): before 1970, or a nanosec field
    of a second or more."""
    sec, nanosec = header.stamp.sec, header.stamp.nanosec
    if sec < 0 or nanosec >= 1_000_000_000:
        return (f"stamp sec {sec}, nanosec {nanosec}: expected sec >= 0 and nanosec < 1000000000; frame skipped "
                "(a driver's clock not set, or a corrupt header)")
    return None


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image -> (H, W, 3) uint8 RGB; raises image.ImageFormatError naming what is wrong."""
    return image_to_rgb(msg.encoding, msg.height, msg.width, msg.step, msg.data)


def camera_info_to_model(msg: CameraInfo) -> CameraModel:
    """sensor_msgs/CameraInfo -> CameraModel; all-zero K gives an uncalibrated nominal camera (camera.py)."""
    return CameraModel.from_camera_info(np.asarray(msg.k), msg.width, msg.height)


def camera_info_msg(header: Header, camera: CameraModel) -> CameraInfo:
    """A CameraInfo for a distortion-free pinhole camera; an uncalibrated one publishes all-zero K, P."""
    k = camera.K if camera.calibrated else np.zeros((3, 3))
    msg = CameraInfo(header=header, width=camera.width, height=camera.height, distortion_model="plumb_bob")
    msg.d = [0.0] * 5
    msg.k = k.ravel().tolist()
    msg.r = np.eye(3).ravel().tolist()
    msg.p = np.hstack([k, np.zeros((3, 1))]).ravel().tolist()
    return msg


def skeletons_2d_msg(header: Header, width: int, height: int, people: list[Person2D],
                     layout: Layout = H36M17) -> Skeleton2DArray:
    msg = Skeleton2DArray(header=header, image_width=width, image_height=height)
    for p in people:
        x0, y0, x1, y1 = np.clip(p.bbox_px, 0, [width - 1, height - 1, width - 1, height - 1]).astype(int)
        msg.skeletons.append(Skeleton2D(
            track_id=int(p.track_id), layout=layout.name, score=float(p.score),
            roi=RegionOfInterest(x_offset=int(x0), y_offset=int(y0), width=int(x1 - x0), height=int(y1 - y0)),
            keypoints=[Keypoint2D(x_px=float(x), y_px=float(y), confidence=float(c))
                       for (x, y), c in zip(p.keypoints_px, p.confidence)],
        ))
    return msg


def skeletons_2d_from_msg(msg: Skeleton2DArray) -> tuple[list[Person2D], list[str]]:
    """Skeleton2DArray -> people; skeletons in another layout than h36m17 are left out and described."""
    people, rejected = [], []
    for s in msg.skeletons:
        if s.layout != H36M17.name or len(s.keypoints) != H36M17.num_joints:
            rejected.append(f"track {s.track_id}: layout '{s.layout}' with {len(s.keypoints)} keypoints; "
                            f"expected '{H36M17.name}' with {H36M17.num_joints}")
            continue
        kp = np.array([[k.x_px, k.y_px, k.confidence] for k in s.keypoints], np.float32)
        roi = s.roi
        bbox = np.array([roi.x_offset, roi.y_offset, roi.x_offset + roi.width, roi.y_offset + roi.height], np.float32)
        people.append(Person2D(s.track_id, kp[:, :2], kp[:, 2], s.score, bbox))
    return people, rejected


def _pose(position: np.ndarray, rotation: np.ndarray) -> Pose:
    w, x, y, z = transforms3d.quaternions.mat2quat(rotation)
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in position)
    o = pose.orientation
    o.w, o.x, o.y, o.z = float(w), float(x), float(y), float(z)
    return pose


def skeletons_3d_msg(header: Header, people: list[Person3D], lookahead_ns: int = 0,
                     body_ids: dict[int, str] | None = None) -> Skeleton3DArray:
    """People -> Skeleton3DArray; ``body_ids``: track id -> REP-155 body id (absent: '')."""
    msg = Skeleton3DArray(header=header)
    lookahead = Duration(sec=lookahead_ns // 1_000_000_000, nanosec=lookahead_ns % 1_000_000_000)
    body_ids = body_ids or {}
    for p in people:
        msg.skeletons.append(Skeleton3D(
            track_id=int(p.track_id), body_id=body_ids.get(p.track_id, ""), layout=H36M17.name,
            root_source=int(p.root_source), body=_pose(p.joints_cam_m[0], p.body_rotation),
            joints=[Point(x=float(x), y=float(y), z=float(z)) for x, y, z in p.joints_cam_m],
            confidence=p.confidence.astype(np.float32).tolist(), lookahead=lookahead,
        ))
    return msg


def body_frame(body_id: str) -> str:
    """TF frame of a person's body (REP-155): origin at the pelvis, x forward, y left, z up."""
    return f"body_{body_id}"


def transforms(header: Header, people: list[Person3D], poses: list[BodyPose]) -> list[TransformStamped]:
    """Per person, ``body_<id>`` in the camera frame, and each link of REP-155's human model ``<link>_<id>`` in its
    URDF parent link, as robot_state_publisher would send them for the body's joint states and URDF.

    people[i] and poses[i] are the same person.
    """
    out = []
    for person, pose in zip(people, poses):
        body_id = pose.body.body_id
        body = _pose(person.joints_cam_m[0].astype(np.float64), person.body_rotation)
        p, o = body.position, body.orientation
        out.append(_transform(header.stamp, header.frame_id, body_frame(body_id), (p.x, p.y, p.z),
                              (o.w, o.x, o.y, o.z)))
        angles = iter(pose.angles.tolist())
        for joint in pose.body.model.joints:  # URDF: child = parent * translation(xyz) * rotation(axis, angle)
            half = next(angles) / 2 if joint.kind == "revolute" else 0.0
            sin = math.sin(half)
            x, y, z = joint.axis
            out.append(_transform(header.stamp, f"{joint.parent}_{body_id}", f"{joint.child}_{body_id}", joint.xyz_m,
                                  (math.cos(half), sin * x, sin * y, sin * z)))
    return out


def _transform(stamp: Time, parent: str, child: str, xyz: tuple[float, float, float],
               wxyz: tuple[float, float, float, float]) -> TransformStamped:
    """``child`` in ``parent``: translation ``xyz`` (m), rotation quaternion ``wxyz``."""
    t = TransformStamped()
    t.header.stamp = stamp
    t.header.frame_id = parent
    t.child_frame_id = child
    translation, rotation = t.transform.translation, t.transform.rotation
    translation.x, translation.y, translation.z = (float(v) for v in xyz)
    rotation.w, rotation.x, rotation.y, rotation.z = (float(v) for v in wxyz)
    return t


def skeleton_markers(header: Header, people: list[Person3D], lifetime_s: float = 0.5,
                     min_confidence: float = 0.3) -> MarkerArray:
    """Per person: joints as spheres, bones as lines, and the track id above the head (rviz).

    Markers expire after ``lifetime_s`` so people who leave disappear; ids are track_id * 3 + {0, 1, 2}.
    """
    lifetime = Duration(sec=int(lifetime_s), nanosec=int((lifetime_s % 1) * 1e9))
    out = MarkerArray()
    for p in people:
        r, g, b = (v / 255.0 for v in track_color(p.track_id))
        colour = ColorRGBA(r=r, g=g, b=b, a=1.0)
        points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in p.joints_cam_m]
        seen = p.confidence >= min_confidence
        joints = _marker(header, "joints", p.track_id * 3, Marker.SPHERE_LIST, 0.05, colour, lifetime)
        joints.points = [pt for pt, s in zip(points, seen) if s]
        bones = _marker(header, "bones", p.track_id * 3 + 1, Marker.LINE_LIST, 0.025, colour, lifetime)
        bones.points = [points[i] for a, b_ in H36M17.bones if seen[a] and seen[b_] for i in (a, b_)]
        label = _marker(header, "labels", p.track_id * 3 + 2, Marker.TEXT_VIEW_FACING, 0.12, colour, lifetime)
        label.text = f"person {p.track_id}"
        head = p.joints_cam_m[H36M17.index["head"]]
        label.pose.position = Point(x=float(head[0]), y=float(head[1]) - 0.2, z=float(head[2]))
        out.markers += [joints, bones, label]
    return out


def _marker(header: Header, ns: str, marker_id: int, kind: int, scale: float, colour: ColorRGBA,
            lifetime: Duration) -> Marker:
    m = Marker(header=header, ns=ns, id=int(marker_id), type=kind, action=Marker.ADD, color=colour, lifetime=lifetime)
    m.pose.orientation.w = 1.0
    m.scale.x = m.scale.y = m.scale.z = scale
    return m
