"""REP-155's kinematic model of the human: a per-body URDF, joint angles from H36M-17 joints, forward kinematics.

The model is ROS4HRI's parametric human (github.com/ros4hri/human_description, urdf/human-tpl.xacro as of
"fix joint limits for the arms", 2024): the same links, joints, axes and limits, with segment lengths from
the body height in the template's proportions. Publishing ``model.urdf(id)`` as the body's robot_description
(REP-155: parameter ``human_description_<id>``; hri_body_detect has it on ``/humans/bodies/<id>/urdf``)
and ``joint_angles`` on ``/humans/bodies/<id>/joint_states`` (``model.joint_names`` suffixed ``_<id>``, the
order hri_body_detect uses) lets robot_state_publisher draw the same frames ``forward_kinematics`` returns.

Frames and units: every pose is in the body frame (REP-155 ``body_<id>``, REP-103 axes): origin at the pelvis
(the hips' mid-point), x forward out of the chest, y to the person's left, z up. Metres and radians.

The tree: links, and in brackets the joint into each (named like its link unless given; s = +1 left, -1 right):

    body                                the root: the pelvis
      waist         [waist: about y]    -> torso [fixed, up by the torso height]: the neck base (H36M thorax)
        r_head      [about x]  -> y_head [about z] -> p_head [about -y] -> head [fixed, (r/2, 0, r): r the head radius]
        {l,r}_y_shoulder   [about (0, 0, -s)]   at (0, s * shoulder offset, 0) on the torso
          {l,r}_p_shoulder [about (s, 0, 0)]
            {l,r}_shoulder [{l,r}_r_shoulder: about (0, 0, s)]   the upper arm, hanging along -z
              {l,r}_elbow  [about -y, >= 0]   -> {l,r}_wrist [fixed]
      {l,r}_y_hip          [about -z, both sides]   at (0, s * hip width / 2, 0) on the body
        {l,r}_p_hip        [about (s, 0, 0)]
          {l,r}_hip        [{l,r}_r_hip: about -y]   the thigh, hanging along -z
            {l,r}_knee     [about -y, <= 0]   -> {l,r}_ankle [fixed]

What ``joint_angles`` solves each from (H36M-17 joints; the 17 do not show wrist, ankle or foot rotation):
- waist: the lean of pelvis -> thorax in the body's x-z plane.
- r_head, y_head, p_head: the head's orientation relative to the torso, z along thorax -> head (top) and x
  toward neck_nose.
- shoulder yaw and abduction: shoulder -> elbow; twist: the elbow's bending plane; elbow: elbow -> wrist.
- hip yaw and abduction: the knee's axis (thigh x shin); flexion: hip -> knee; knee: knee -> ankle.

Approximations:
- Only bone directions are matched: segment lengths are the model's (from ``height_m``), so link positions are
  the model's, not the input's; shoulders sit on a fixed bar across the torso, hips on one across the pelvis.
- The torso has no sideways lean or twist (the model has none): it follows the waist's forward lean only. The
  limbs and head are solved in that torso frame, so their directions in the body frame are kept all the same.
- What the joints do not show fades to a neutral value instead of following noise: the shoulder twist and hip
  yaw (from the bending plane) below 5 degrees of elbow or knee bend or with the knee bent the wrong way, the
  shoulder yaw within 5 degrees of a hanging or raised arm, the face's direction (toward the torso's forward)
  with the nose within 5 degrees of the thorax -> head line or turned past 85 degrees.
- Angles are clipped to the template's limits, and each later joint of a chain is solved for the clipped
  earlier ones. Those limits cannot sit: hip flexion (r_hip) stops at 0.7 rad, where the thigh then stays while
  the knee still points the shin right. The template gives both y_hip joints the axis -z and limits [-0.1, 0.6],
  so the legs' yaw ranges are not mirror images; kept for interchangeability.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

from pose3d_ros.layouts import H36M17

# human_description's segment lengths in size units of height / 7.5 (figure-drawing proportions); its names in
# brackets: head_radius, neck (neck_length), shoulder_offset (neck_shoulder_length), upper_arm (upperarm_length),
# forearm (forearm_length), torso (torso_height), hip_width (waist_length), thigh (tight_length), shin
# (tibia_length).
_PROPORTIONS = {
    "head_radius": 0.5, "neck": 0.25, "shoulder_offset": 0.8, "upper_arm": 1.6, "forearm": 1.0,
    "torso": 2.75, "hip_width": 1.2, "thigh": 1.5, "shin": 2.0,
}
_HEADS_PER_HEIGHT = 7.5
_LIMB_RADIUS_M = 0.03
_FADE_SIN = np.sin(np.radians(5.0))  # below this bend (as a sine) a plane or a yaw is not observable
_BODY_ID = re.compile(r"[A-Za-z0-9_]+")
_J = H36M17.index
_SIDES = np.array([1.0, -1.0])  # left, right: the template's "reflect"


@dataclass(frozen=True)
class Joint:
    """One URDF joint: ``child`` = ``parent`` * translation(xyz_m) * rotation(axis, angle); rpy is always 0."""

    name: str
    kind: str  # "revolute" or "fixed"
    parent: str
    child: str
    xyz_m: tuple[float, float, float]
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    lower: float = 0.0
    upper: float = 0.0


def _joint_table(m: dict[str, float]) -> tuple[Joint, ...]:
    """The template's joints in topological order; the movable ones in hri_body_detect's JointState order."""
    hr = m["head_radius"]
    table = [
        Joint("waist", "revolute", "body", "waist", (0.0, 0.0, 0.0), (0.0, 1.0, 0.0), -0.2, 1.0),
        Joint("torso", "fixed", "waist", "torso", (0.0, 0.0, m["torso"])),
        Joint("r_head", "revolute", "torso", "r_head", (0.0, 0.0, m["neck"]), (1.0, 0.0, 0.0), -1.0, 1.0),
        Joint("y_head", "revolute", "r_head", "y_head", (0.0, 0.0, 0.0), (0.0, 0.0, 1.0), -1.4, 1.4),
        Joint("p_head", "revolute", "y_head", "p_head", (0.0, 0.0, 0.0), (0.0, -1.0, 0.0), -1.5, 1.5),
        Joint("head", "fixed", "p_head", "head", (hr / 2, 0.0, hr)),
    ]
    for side, s in zip("lr", _SIDES):
        table += [
            Joint(f"{side}_y_shoulder", "revolute", "torso", f"{side}_y_shoulder", (0.0, s * m["shoulder_offset"], 0.0),
                  (0.0, 0.0, -s), -1.1, 1.9),
            Joint(f"{side}_p_shoulder", "revolute", f"{side}_y_shoulder", f"{side}_p_shoulder", (0.0, 0.0, 0.0),
                  (s, 0.0, 0.0), -0.4, 3.3),
            Joint(f"{side}_r_shoulder", "revolute", f"{side}_p_shoulder", f"{side}_shoulder", (0.0, 0.0, 0.0),
                  (0.0, 0.0, s), -1.7, 1.5),
            Joint(f"{side}_elbow", "revolute", f"{side}_shoulder", f"{side}_elbow", (0.0, 0.0, -m["upper_arm"]),
                  (0.0, -1.0, 0.0), 0.0, 2.5),
            Joint(f"{side}_wrist", "fixed", f"{side}_elbow", f"{side}_wrist", (0.0, 0.0, -m["forearm"])),
        ]
    for side, s in zip("lr", _SIDES):
        table += [
            Joint(f"{side}_y_hip", "revolute", "body", f"{side}_y_hip", (0.0, s * m["hip_width"] / 2, 0.0),
                  (0.0, 0.0, -1.0), -0.1, 0.6),
            Joint(f"{side}_p_hip", "revolute", f"{side}_y_hip", f"{side}_p_hip", (0.0, 0.0, 0.0),
                  (s, 0.0, 0.0), -0.4, 3.3),
            Joint(f"{side}_r_hip", "revolute", f"{side}_p_hip", f"{side}_hip", (0.0, 0.0, 0.0),
                  (0.0, -1.0, 0.0), -0.4, 0.7),
            Joint(f"{side}_knee", "revolute", f"{side}_hip", f"{side}_knee", (0.0, 0.0, -m["thigh"]),
                  (0.0, -1.0, 0.0), -2.5, 0.0),
            Joint(f"{side}_ankle", "fixed", f"{side}_knee", f"{side}_ankle", (0.0, 0.0, -m["shin"])),
        ]
    return tuple(table)


@dataclass(frozen=True)
class _Chain:
    """The joint table as arrays for forward kinematics: joint i links ``parents[i]`` to link i + 1."""

    origins: np.ndarray  # (joints, 4, 4) translations
    movable: np.ndarray  # (20,) indices of the revolute joints
    skew: np.ndarray  # (20, 3, 3) cross-product matrices of their axes
    skew_squared: np.ndarray
    parents: tuple[int, ...]


def _chain(joints: tuple[Joint, ...]) -> _Chain:
    links = ["body"] + [j.child for j in joints]
    origins = np.broadcast_to(np.eye(4), (len(joints), 4, 4)).copy()
    origins[:, :3, 3] = [j.xyz_m for j in joints]
    movable = np.array([i for i, j in enumerate(joints) if j.kind == "revolute"])
    skew = np.array([np.cross(joints[i].axis, -np.eye(3)) for i in movable])  # K v = axis x v
    return _Chain(origins, movable, skew, skew @ skew, tuple(links.index(j.parent) for j in joints))


@dataclass(frozen=True)
class HumanModel:
    """human_description's human of a given height (metres; the template's default is 1.65).

    ``joints`` is the URDF's joint table (``Joint``), parents before children; ``lengths_m`` the segment lengths.
    """

    height_m: float = 1.65
    lengths_m: dict[str, float] = field(init=False, repr=False, compare=False)
    joints: tuple[Joint, ...] = field(init=False, repr=False, compare=False)
    chain: _Chain = field(init=False, repr=False, compare=False)
    lower: np.ndarray = field(init=False, repr=False, compare=False)  # (20,) radians, joint_names order
    upper: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not np.isfinite(self.height_m) or self.height_m <= 0:
            raise ValueError(f"body height {self.height_m!r} m; expected a positive number of metres, e.g. 1.65")
        unit = self.height_m / _HEADS_PER_HEIGHT
        lengths = {name: units * unit for name, units in _PROPORTIONS.items()}
        joints = _joint_table(lengths)
        object.__setattr__(self, "lengths_m", lengths)
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "chain", _chain(joints))
        for bound in ("lower", "upper"):
            limits = np.array([getattr(j, bound) for j in joints if j.kind == "revolute"])
            limits.flags.writeable = False
            object.__setattr__(self, bound, limits)

    @property
    def root(self) -> str:
        return "body"

    @property
    def link_names(self) -> tuple[str, ...]:
        """All links, root first, without the ``_<id>`` suffix."""
        return (self.root,) + tuple(j.child for j in self.joints)

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The 20 movable joints, without suffix, in the order of ``joint_angles`` and hri_body_detect."""
        return tuple(j.name for j in self.joints if j.kind == "revolute")

    def urdf(self, body_id: str) -> str:
        """The URDF text of body ``body_id``: every link and joint named ``<name>_<body_id>``, root ``body_<id>``."""
        if not isinstance(body_id, str) or not _BODY_ID.fullmatch(body_id):
            raise ValueError(f"body id {body_id!r} cannot suffix frame names; expected letters, digits or '_', "
                             "e.g. str(track_id)")
        robot = ET.Element("robot", name=f"human_{body_id}")
        ET.SubElement(ET.SubElement(robot, "material", name="skin"), "color", rgba="1 0.7 0 1")
        visuals = self._visuals()
        for link in self.link_names:
            element = ET.SubElement(robot, "link", name=f"{link}_{body_id}")
            for geometry, size, xyz, rpy in visuals.get(link, ()):
                visual = ET.SubElement(element, "visual")
                ET.SubElement(visual, "origin", xyz=_text(xyz), rpy=_text(rpy))
                ET.SubElement(ET.SubElement(visual, "geometry"), geometry, size)
                ET.SubElement(visual, "material", name="skin")
        for joint in self.joints:
            element = ET.SubElement(robot, "joint", name=f"{joint.name}_{body_id}", type=joint.kind)
            ET.SubElement(element, "parent", link=f"{joint.parent}_{body_id}")
            ET.SubElement(element, "child", link=f"{joint.child}_{body_id}")
            ET.SubElement(element, "origin", xyz=_text(joint.xyz_m), rpy="0 0 0")
            if joint.kind == "revolute":
                ET.SubElement(element, "axis", xyz=_text(joint.axis))
                ET.SubElement(element, "limit", lower=_text([joint.lower]), upper=_text([joint.upper]),
                              effort="1000", velocity="0.5")
        ET.indent(robot)
        return '<?xml version="1.0"?>\n' + ET.tostring(robot, encoding="unicode") + "\n"

    def _visuals(self) -> dict[str, list[tuple[str, dict[str, str], tuple, tuple]]]:
        """Link -> (geometry tag, its attributes, origin xyz, origin rpy): limbs hang along the link's -z."""
        m, r = self.lengths_m, _LIMB_RADIUS_M
        across = (np.pi / 2, 0.0, 0.0)  # a cylinder along y

        def rod(length: float, xyz=None, rpy=(0.0, 0.0, 0.0)):
            size = {"length": _text([length]), "radius": _text([r])}
            return "cylinder", size, xyz if xyz is not None else (0.0, 0.0, -length / 2), rpy

        visuals = {
            "body": [rod(m["hip_width"], (0.0, 0.0, 0.0), across)],
            "torso": [rod(m["torso"]), rod(2 * m["shoulder_offset"], (0.0, 0.0, 0.0), across)],
            "head": [("sphere", {"radius": _text([m["head_radius"]])}, (-m["head_radius"] / 2, 0.0, 0.0),
                      (0.0, 0.0, 0.0))],
        }
        for side in "lr":
            visuals[f"{side}_shoulder"] = [rod(m["upper_arm"])]
            visuals[f"{side}_elbow"] = [rod(m["forearm"])]
            visuals[f"{side}_hip"] = [rod(m["thigh"])]
            visuals[f"{side}_knee"] = [rod(m["shin"])]
        return visuals


def _text(values) -> str:
    return " ".join(f"{float(v) + 0.0:.12g}" for v in values)  # + 0.0 writes -0.0 as 0


def forward_kinematics(model: HumanModel, angles: np.ndarray) -> dict[str, np.ndarray]:
    """Pose of every link in the body frame, from the joint origins and axes the URDF states.

    angles: (..., 20) radians in ``model.joint_names`` order. Returns link name (no ``_<id>`` suffix, as in
    ``model.link_names``) -> (..., 4, 4) homogeneous transform body <- link, metres.
    """
    q = np.asarray(angles, dtype=np.float64)
    if q.shape[-1:] != (len(model.joint_names),):
        raise ValueError(f"angles of shape {q.shape}; expected (..., {len(model.joint_names)}) in "
                         "model.joint_names order")
    chain = model.chain
    sin, cos = np.sin(q)[..., None, None], np.cos(q)[..., None, None]
    local = np.array(np.broadcast_to(chain.origins, q.shape[:-1] + chain.origins.shape))
    # Rodrigues for all movable joints at once: I + sin K + (1 - cos) K^2, K the axis' cross-product matrix.
    local[..., chain.movable, :3, :3] = np.eye(3) + sin * chain.skew + (1.0 - cos) * chain.skew_squared
    poses = [np.broadcast_to(np.eye(4), q.shape[:-1] + (4, 4))]
    for i, parent in enumerate(chain.parents):
        poses.append(poses[parent] @ local[..., i, :, :])
    return dict(zip(model.link_names, poses))


def joint_angles(model: HumanModel, joints_body: np.ndarray) -> np.ndarray:
    """Angles of the model's movable joints that point its bones along the skeleton's, within the limits.

    joints_body: (..., 17, 3) H36M-17 joints (layouts.H36M17 order), metres, in the body frame (x forward, y
    left, z up, origin at the pelvis; body.body_rotation gives it). Returns (..., 20) radians in
    ``model.joint_names`` order. Analytic per chain, no iterations: see the module docstring for what is solved
    from which joints. A non-finite joint spoils the angles of the limb it feeds (NaN or arbitrary): leave such
    bodies out first.
    """
    j = np.asarray(joints_body, dtype=np.float64)
    if j.shape[-2:] != (H36M17.num_joints, 3):
        raise ValueError(f"joints of shape {j.shape}; expected (..., {H36M17.num_joints}, 3) in h36m17 order, "
                         "metres in the body frame")
    lower, upper = model.lower, model.upper
    out = np.empty(j.shape[:-2] + (len(lower),))
    spine = j[..., _J["thorax"], :] - j[..., _J["pelvis"], :]
    waist = np.clip(np.arctan2(spine[..., 0], spine[..., 2]), lower[0], upper[0])
    out[..., 0] = waist
    # The limbs and the head are solved in the torso frame: the body turned by the waist about y.
    in_torso = _turn(j - j[..., _J["thorax"], None, :], -waist[..., None], 1)
    out[..., 1:4] = _head(in_torso, lower[1:4], upper[1:4])
    arm = _bones(in_torso, ("shoulder", "elbow", "wrist"))
    out[..., 4:12] = _arm(*arm, lower[4:12].reshape(2, 4), upper[4:12].reshape(2, 4)).reshape(out.shape[:-1] + (8,))
    leg = _bones(j, ("hip", "knee", "ankle"))
    out[..., 12:20] = _leg(*leg, lower[12:20].reshape(2, 4), upper[12:20].reshape(2, 4)).reshape(out.shape[:-1] + (8,))
    return out


def _bones(j: np.ndarray, chain: tuple[str, str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions (..., 2, 3) of a limb's two bones, left then right side."""
    sides = [[_J[f"{side}_{name}"] for name in chain] for side in ("left", "right")]
    points = j[..., np.array(sides), :]  # (..., 2, 3 joints, 3)
    return _unit(points[..., 1, :] - points[..., 0, :]), _unit(points[..., 2, :] - points[..., 1, :])


def _head(j: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(r_head, y_head, p_head) (..., 3) from joints (..., 17, 3) in the torso frame, thorax at the origin."""
    up = _unit(j[..., _J["head"], :])
    face = j[..., _J["neck_nose"], :]
    forward = _unit(face - (face * up).sum(-1, keepdims=True) * up)
    # The face points out of the torso's front (y_head stops at 80 degrees): a nose on the thorax-to-head line,
    # or behind it, says too little, and the torso's forward stands in.
    ahead = np.zeros_like(up)
    ahead[..., 0] = 1.0
    ahead = _unit(ahead - up[..., :1] * up)
    sin_off_line = _norm(_cross(face, up)) / np.maximum(_norm(face), 1e-12)
    weight = (_fade(sin_off_line) * _fade(np.maximum((forward * ahead).sum(-1), 0.0)))[..., None]
    x = _unit(weight * forward + (1.0 - weight) * ahead)
    z = up
    y = _cross(z, x)
    # [x y z] = Rx(a) Rz(b) Ry(c): row 0 is (cos b cos c, -sin b, cos b sin c); column 1 is (-sin b,
    # cos a cos b, sin a cos b); the y_head limits keep b within +-pi/2.
    a = np.arctan2(y[..., 2], y[..., 1])
    b = np.arcsin(np.clip(-y[..., 0], -1.0, 1.0))
    c = np.arctan2(z[..., 0], x[..., 0])
    return np.clip(np.stack([a, b, -c], axis=-1), lower, upper)


def _arm(upper_arm: np.ndarray, forearm: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(y_shoulder, p_shoulder, r_shoulder, elbow) (..., 2, 4) of both arms from unit bone directions (..., 2, 3)
    in the torso frame; lower, upper: (2, 4) limits.

    The chain Rz(-s y) Rx(s p) Rz(s r) Ry(-e) (s = +1 left, -1 right) points the upper arm (0, 0, -1) along
    (sin p sin y, s sin p cos y, -cos p) and swings the forearm toward the shoulder link's +x as e grows.
    """
    u, f = upper_arm, forearm
    p = np.arccos(np.clip(-u[..., 2], -1.0, 1.0))
    y = np.arctan2(u[..., 0], _SIDES * u[..., 1])
    r = _twist(_in_p_shoulder(f, y, p))
    # (y + pi, -p, r + pi) turns the links the same way: take whichever the limits cut less.
    both = np.stack([np.stack([y, p, r], -1), np.stack([y + np.pi, -p, r + np.pi], -1)])
    outside = _outside(both, lower[:, :3], upper[:, :3]).sum(-1)
    y = np.where(outside[1] < outside[0], y + np.pi, y)
    y = np.clip(_nearest(y, lower[:, 0], upper[:, 0]) * _fade(np.sin(p)), lower[:, 0], upper[:, 0])
    # Each later joint is solved for the earlier ones as clipped: abduction, twist, then the elbow.
    d = _turn(u, _SIDES * y, 2)
    p = np.clip(_nearest(np.arctan2(_SIDES * d[..., 1], -d[..., 2]), lower[:, 1], upper[:, 1]),
                lower[:, 1], upper[:, 1])
    in_p = _in_p_shoulder(f, y, p)
    bend = np.arccos(np.clip((u * f).sum(-1), -1.0, 1.0))
    r = np.clip(_nearest(_twist(in_p) * _fade(np.sin(bend)), lower[:, 2], upper[:, 2]), lower[:, 2], upper[:, 2])
    in_shoulder = _turn(in_p, -_SIDES * r, 2)
    elbow = np.arctan2(in_shoulder[..., 0], -in_shoulder[..., 2])
    return np.stack([y, p, r, np.clip(elbow, lower[:, 3], upper[:, 3])], axis=-1)


def _in_p_shoulder(v: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Torso-frame vectors (..., 2, 3) in the p_shoulder links after yaw y and abduction p (..., 2)."""
    return _turn(_turn(v, _SIDES * y, 2), -_SIDES * p, 0)


def _twist(forearm_in_p_shoulder: np.ndarray) -> np.ndarray:
    """r_shoulder (..., 2) that turns the elbow's bending plane (the shoulder link's x-z) onto the forearm."""
    return _SIDES * np.arctan2(forearm_in_p_shoulder[..., 1], forearm_in_p_shoulder[..., 0])


def _leg(thigh: np.ndarray, shin: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """(y_hip, p_hip, r_hip, knee) (..., 2, 4) of both legs from unit bone directions (..., 2, 3) in the body
    frame; lower, upper: (2, 4) limits.

    The chain Rz(-y) Rx(s p) Ry(-r) Ry(-k) points the thigh (0, 0, -1) along Rz(-y) (sin r, s cos r sin p,
    -cos r cos p); its y axis, (cos p sin y, cos p cos y, s sin p), is the knee's axis: thigh x shin.
    """
    knee_axis = _cross(thigh, shin)  # its length is the sine of the knee's bend
    # The knee's axis gives yaw and abduction while it is seen and points to the leg's left (the model's knee
    # folds one way only: a straight or over-straightened knee says nothing); the thigh gives the rest.
    y = np.arctan2(knee_axis[..., 0], knee_axis[..., 1])
    y = np.clip(_nearest(y, lower[:, 0], upper[:, 0]) * _fade(np.maximum(knee_axis[..., 1], 0.0)),
                lower[:, 0], upper[:, 0])
    t, n = _turn(thigh, y, 2), _turn(knee_axis, y, 2)
    p_thigh = np.arctan2(_SIDES * t[..., 1], -t[..., 2])
    p_axis = np.arctan2(_SIDES * n[..., 2], n[..., 1])
    p = p_thigh + _fade(np.maximum(n[..., 1], 0.0)) * (np.mod(p_axis - p_thigh + np.pi, 2 * np.pi) - np.pi)
    p = np.clip(_nearest(p, lower[:, 1], upper[:, 1]), lower[:, 1], upper[:, 1])
    # Each later joint is solved for the earlier ones as clipped: flexion, then the knee.
    t = _turn(t, -_SIDES * p, 0)
    r = np.clip(np.arctan2(t[..., 0], -t[..., 2]), lower[:, 2], upper[:, 2])
    in_hip = _turn(_turn(_turn(shin, y, 2), -_SIDES * p, 0), r, 1)
    knee = np.arctan2(in_hip[..., 0], -in_hip[..., 2])
    return np.stack([y, p, r, np.clip(knee, lower[:, 3], upper[:, 3])], axis=-1)


def _nearest(angle: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """angle + 2 pi k nearest to [lower, upper] (narrower than 2 pi): the one within pi of its middle."""
    middle = (lower + upper) / 2
    return middle + np.mod(angle - middle + np.pi, 2 * np.pi) - np.pi


def _outside(angle: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """How far (radians) the nearest angle + 2 pi k stays outside [lower, upper]; 0 inside."""
    return np.maximum(np.abs(_nearest(angle, lower, upper) - (lower + upper) / 2) - (upper - lower) / 2, 0.0)


def _fade(sin_bend: np.ndarray) -> np.ndarray:
    return np.clip(np.abs(sin_bend) / _FADE_SIN, 0.0, 1.0)


def _turn(v: np.ndarray, angle: np.ndarray, axis: int) -> np.ndarray:
    """Vectors v (..., 3) rotated by ``angle`` (...) about the coordinate axis 0 (x), 1 (y) or 2 (z)."""
    a, b = (axis + 1) % 3, (axis + 2) % 3
    cos, sin = np.cos(angle), np.sin(angle)
    out = np.array(v, dtype=np.float64, copy=True)
    out[..., a] = v[..., a] * cos - v[..., b] * sin
    out[..., b] = v[..., a] * sin + v[..., b] * cos
    return out


def _norm(v: np.ndarray) -> np.ndarray:
    return np.sqrt((v * v).sum(-1))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(_norm(v), 1e-12)[..., None]


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b over the last axis (np.cross costs more than the rest of a small batch)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)
