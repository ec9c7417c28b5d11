"""ROS4HRI output (REP-155): ``/humans/bodies/tracked`` and each body's topics, for HRI stacks to use as is.

Published by the lifter with the source image's header, per frame:

    /humans/bodies/tracked             hri_msgs/IdsList      ids of the bodies in this frame
    /humans/bodies/<id>/roi            hri_msgs/NormalizedRegionOfInterest2D   the person's box, in [0, 1]
    /humans/bodies/<id>/skeleton2d     hri_msgs/Skeleton2D   OpenPose-18 order, normalised (eyes, ears: c = 0)
    /humans/bodies/<id>/joint_states   sensor_msgs/JointState  REP-155 human model joints ``<joint>_<id>``, rad
    /humans/bodies/<id>/cropped        sensor_msgs/Image     rgb8 crop of the box (``hri_cropped``)
    /humans/bodies/<id>/urdf           std_msgs/String, transient local: the body's URDF, where ROS4HRI's
                                       hri_body_detect publishes it (rviz's RobotModel reads it as a topic)

and the URDF also as the node's parameter ``human_description_<id>``, REP-155's name for it.

A body that left is no longer published; its publishers go after ``grace_s`` without it, and at most
``max_bodies`` bodies keep publishers (the longest-gone one's go first). A body topic that nobody subscribes to
is not built, as image_transport's lazy publishers do: every body's publishers exist, so clients find them, but
the per-frame messages cost only what someone reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D, Skeleton2D
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Header, String

from pose3d_ros.bodies import BodyPose
from pose3d_ros.human_model import HumanModel
from pose3d_ros.image import rgb_to_image_fields
from pose3d_ros.layouts import openpose18_from_h36m17
from pose3d_ros.people import Person2D
from pose3d_ros.ros import qos
from pose3d_ros.ros.conversions import stamp_ns

# The URDF of a body, kept for late subscribers as robot_description is.
DESCRIPTION = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def roi_msg(header: Header, person: Person2D, width: int, height: int) -> NormalizedRegionOfInterest2D:
    x0, y0, x1, y1 = np.clip(person.bbox_px / [width, height, width, height], 0.0, 1.0)
    return NormalizedRegionOfInterest2D(header=header, xmin=float(x0), ymin=float(y0), xmax=float(x1),
                                        ymax=float(y1), c=float(np.clip(person.score, 0.0, 1.0)))


def skeleton2d_msg(header: Header, person: Person2D, width: int, height: int) -> Skeleton2D:
    points, confidence = openpose18_from_h36m17(person.keypoints_px, person.confidence)
    finite = np.isfinite(points).all(axis=1)
    xy = np.clip(np.where(finite[:, None], points, 0.0) / [width, height], 0.0, 1.0)
    c = np.where(finite, np.clip(confidence, 0.0, 1.0), 0.0)
    return Skeleton2D(header=header, skeleton=[NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(k))
                                               for (x, y), k in zip(xy, c)])


def joint_state_msg(header: Header, pose: BodyPose) -> JointState:
    suffix = f"_{pose.body.body_id}"
    return JointState(header=header, name=[n + suffix for n in pose.body.model.joint_names],
                      position=pose.angles.tolist())


def cropped_msg(header: Header, person: Person2D, rgb: np.ndarray) -> Image | None:
    """The person's box cut from the image (rgb8), or None when the box holds no pixel."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = np.clip(np.round(person.bbox_px), 0, [width, height, width, height]).astype(int)
    if x1 <= x0 or y1 <= y0:
        return None
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    encoding, step, data = rgb_to_image_fields(crop, "rgb8")
    msg = Image(header=header, height=crop.shape[0], width=crop.shape[1], encoding=encoding, step=step)
    msg.data = data
    return msg


def _read(publisher: Publisher) -> bool:
    """Whether anyone subscribes to ``publisher``'s topic now."""
    return publisher.get_subscription_count() > 0


@dataclass
class _BodyTopics:
    roi: Publisher
    skeleton2d: Publisher
    joint_states: Publisher
    description: Publisher
    cropped: Publisher | None
    described: HumanModel | None = None  # the model whose URDF was last published
    last_ns: int = 0


class HriBodies:
    """The REP-155 topic tree of one node."""

    def __init__(self, node: Node, grace_s: float, max_bodies: int, cropped: bool):
        self._node = node
        self._grace_ns = int(grace_s * 1e9)
        self._max_bodies = max(1, max_bodies)
        self._cropped = cropped
        self._tracked = node.create_publisher(IdsList, "/humans/bodies/tracked", qos.RESULTS)
        self._bodies: dict[str, _BodyTopics] = {}

    @property
    def body_count(self) -> int:
        """Bodies that have publishers now (bounded by max_bodies)."""
        return len(self._bodies)

    def publish(self, header: Header, width: int, height: int, poses: list[BodyPose],
                people_2d: dict[int, Person2D], rgb: np.ndarray | None = None) -> None:
        """One frame: the tracked ids, and each body's topics. ``people_2d``: track id -> its 2D input (a body
        without one publishes no roi, skeleton2d or crop); ``rgb``: the frame, for crops."""
        t_ns = stamp_ns(header)
        self._tracked.publish(IdsList(header=header, ids=[p.body.body_id for p in poses]))
        for pose in poses:
            topics = self._topics(pose.body.body_id)
            topics.last_ns = t_ns
            if topics.described is not pose.body.model:
                self._describe(topics, pose)
            if _read(topics.joint_states):
                topics.joint_states.publish(joint_state_msg(header, pose))
            person = people_2d.get(pose.body.track_id)
            if person is None or width <= 0 or height <= 0:
                continue
            if _read(topics.roi):
                topics.roi.publish(roi_msg(header, person, width, height))
            if _read(topics.skeleton2d):
                topics.skeleton2d.publish(skeleton2d_msg(header, person, width, height))
            if (topics.cropped is not None and rgb is not None and _read(topics.cropped)
                    and (crop := cropped_msg(header, person, rgb))):
                topics.cropped.publish(crop)
        self._retire(t_ns, {p.body.body_id for p in poses})

    def reset(self) -> None:
        """Time jumped back: every body is gone at once."""
        for body_id in list(self._bodies):
            self._destroy(body_id)

    def _topics(self, body_id: str) -> _BodyTopics:
        topics = self._bodies.get(body_id)
        if topics is None:
            make, base = self._node.create_publisher, f"/humans/bodies/{body_id}"
            topics = _BodyTopics(
                roi=make(NormalizedRegionOfInterest2D, f"{base}/roi", qos.RESULTS),
                skeleton2d=make(Skeleton2D, f"{base}/skeleton2d", qos.RESULTS),
                joint_states=make(JointState, f"{base}/joint_states", qos.RESULTS),
                description=make(String, f"{base}/urdf", DESCRIPTION),
                cropped=make(Image, f"{base}/cropped", qos.SENSOR) if self._cropped else None,
            )
            self._bodies[body_id] = topics
        return topics

    def _describe(self, topics: _BodyTopics, pose: BodyPose) -> None:
        """Publish the body's URDF and set it as parameter human_description_<id> (its model changed)."""
        urdf = pose.body.model.urdf(pose.body.body_id)
        topics.description.publish(String(data=urdf))
        name = f"human_description_{pose.body.body_id}"
        if self._node.has_parameter(name):
            self._node.set_parameters([Parameter(name, value=urdf)])
        else:
            self._node.declare_parameter(name, urdf, ParameterDescriptor(
                description=f"URDF of body {pose.body.body_id} (REP-155's human model); removed when it leaves"))
        topics.described = pose.body.model

    def _retire(self, t_ns: int, present: set[str]) -> None:
        gone = sorted((topics.last_ns, body_id) for body_id, topics in self._bodies.items() if body_id not in present)
        for last_ns, body_id in gone:
            if t_ns - last_ns > self._grace_ns or len(self._bodies) > self._max_bodies:
                self._destroy(body_id)

    def _destroy(self, body_id: str) -> None:
        topics = self._bodies.pop(body_id)
        if self._node.has_parameter(f"human_description_{body_id}"):
            self._node.undeclare_parameter(f"human_description_{body_id}")
        for publisher in (topics.roi, topics.skeleton2d, topics.joint_states, topics.description, topics.cropped):
            if publisher is not None:
                self._node.destroy_publisher(publisher)
