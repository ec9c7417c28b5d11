"""Tracked people as REP-155 bodies: a short string id per body, and each body's kinematic model (plain numpy).

A track is one person while the tracker follows them; a body is what ROS4HRI clients see: ``body_<id>``. Ids are
5 lowercase letters, drawn at random (as ROS4HRI's own detectors do), never reused by this registry, so a
client can never mistake a newcomer for someone who left. A track unseen for ``max_gap_s`` (or a reset, after
a jump back in time) comes back as a new body: its track id may have been reused for someone else meanwhile.

Each body gets a ``HumanModel`` (REP-155's kinematic model of the human) scaled to its height, the median of
its first ``height_frames`` frames' estimates, then fixed: a URDF does not change under a robot's feet.
"""

from __future__ import annotations

import random
import string
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from pose3d_ros.human_model import HumanModel, forward_kinematics, joint_angles
from pose3d_ros.layouts import H36M17

ID_LETTERS = 5
ANKLE_HEIGHT_SHARE = 0.045  # ankle joint above the floor, as a share of standing height (anthropometric tables)
_J = H36M17.index


def standing_height_m(joints_body_m: np.ndarray) -> float:
    """A person's standing height from one frame's H36M-17 joints (17, 3), whatever their posture: the mean leg
    (hip-knee-ankle), the spine (pelvis-spine-thorax) and thorax-to-head-top lengths, plus the ankle's height."""
    j = np.asarray(joints_body_m, np.float64)

    def length(*names: str) -> float:
        return float(sum(np.linalg.norm(j[_J[b]] - j[_J[a]]) for a, b in zip(names, names[1:])))

    legs = (length("left_hip", "left_knee", "left_ankle") + length("right_hip", "right_knee", "right_ankle")) / 2
    return (legs + length("pelvis", "spine", "thorax") + length("thorax", "head")) / (1 - ANKLE_HEIGHT_SHARE)


class _FrameAngles:
    """The joint angles of one frame's bodies, computed in one call when first read: a node publishes the
    bodies' ids with the skeletons first and their joints after, so the angles cost that message nothing."""

    def __init__(self, model: HumanModel, joints_body_m: np.ndarray):
        self._model = model
        self._joints_body_m = joints_body_m

    @cached_property
    def angles(self) -> np.ndarray:
        # The angles depend on the model only through its limits, the same at any height.
        return joint_angles(self._model, self._joints_body_m)


@dataclass
class BodyPose:
    """A body in one frame: ``angles`` (20,) radians in ``body.model.joint_names`` order."""

    body: Body
    _frame: _FrameAngles
    _index: int

    @property
    def angles(self) -> np.ndarray:
        return self._frame.angles[self._index]

    @cached_property
    def links(self) -> dict[str, np.ndarray]:
        """Link name (no suffix) -> (4, 4) pose in the body frame: the forward kinematics of the angles."""
        return forward_kinematics(self.body.model, self.angles)


@dataclass
class Body:
    """One REP-155 body: its id, the track it follows, and its kinematic model (None until the first frame)."""

    body_id: str
    track_id: int
    first_ns: int
    last_ns: int
    heights_m: list[float] = field(default_factory=list)
    model: HumanModel | None = None
    model_fixed: bool = False


class BodyRegistry:
    """Track ids -> bodies, with a bounded number of bodies remembered (the longest-unseen one goes first)."""

    def __init__(self, max_gap_s: float = 0.5, max_bodies: int = 64, height_frames: int = 10,
                 seed: int | None = None):
        self.max_gap_ns = int(max_gap_s * 1e9)
        self.max_bodies = max_bodies
        self.height_frames = height_frames
        self._rng = random.Random(seed)
        self._by_track: OrderedDict[int, Body] = OrderedDict()  # least recently seen first
        self._issued: set[str] = set()
        self._issued_order: deque[str] = deque()

    def _new_id(self) -> str:
        while True:
            body_id = "".join(self._rng.choices(string.ascii_lowercase, k=ID_LETTERS))
            if body_id not in self._issued:
                break
        self._issued.add(body_id)
        self._issued_order.append(body_id)
        if len(self._issued_order) > 100_000:  # 11.9M possible ids: forgetting the oldest costs nothing real
            self._issued.discard(self._issued_order.popleft())
        return body_id

    def update(self, t_ns: int, people: list[tuple[int, np.ndarray]]) -> list[BodyPose]:
        """Each person's body at ``t_ns`` (a new one if the track is new or was gone too long) and its pose (its
        angles computed when first read).

        people: (track id, joints_body_m (17, 3): the H36M-17 joints in the body frame, finite) per person.
        """
        bodies = [self._body(t_ns, track_id, joints) for track_id, joints in people]
        while len(self._by_track) > self.max_bodies:
            self._by_track.popitem(last=False)
        if not bodies:
            return []
        frame = _FrameAngles(bodies[0].model, np.stack([joints for _, joints in people]))
        return [BodyPose(body, frame, i) for i, body in enumerate(bodies)]

    def _body(self, t_ns: int, track_id: int, joints_body_m: np.ndarray) -> Body:
        body = self._by_track.get(track_id)
        if body is None or t_ns - body.last_ns > self.max_gap_ns:
            body = Body(self._new_id(), track_id, t_ns, t_ns)
        self._by_track[track_id] = body
        self._by_track.move_to_end(track_id)
        body.last_ns = t_ns
        if not body.model_fixed:
            height = standing_height_m(joints_body_m)
            if np.isfinite(height):
                body.heights_m.append(height)
            height_m = float(np.median(body.heights_m)) if body.heights_m else HumanModel.height_m
            if body.model is None or body.model.height_m != height_m:  # a new model means a new URDF to publish
                body.model = HumanModel(height_m=height_m)
            body.model_fixed = len(body.heights_m) >= self.height_frames
        return body

    def gone(self, t_ns: int) -> list[Body]:
        """Forget and return the bodies unseen for more than max_gap_s at ``t_ns``."""
        old = [b for b in self._by_track.values() if t_ns - b.last_ns > self.max_gap_ns]
        for body in old:
            del self._by_track[body.track_id]
        return old

    def reset(self) -> list[Body]:
        """Forget every body (time jumped back); returns them."""
        bodies = list(self._by_track.values())
        self._by_track.clear()
        return bodies
