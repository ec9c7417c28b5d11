"""REP-155 human model: the URDF's names, axes and limits, forward kinematics against a generic URDF reader, and
joint angles that point the model's bones along H36M-17 skeletons."""

import importlib.util

import numpy as np
import pytest
import transforms3d
from urdf_reader import read_urdf, urdf_forward_kinematics

from pose3d_ros.body import body_rotation
from pose3d_ros.human_model import HumanModel, forward_kinematics, joint_angles
from pose3d_ros.layouts import H36M17

J = H36M17.index
MODEL = HumanModel()

# The movable joints of ros4hri/human_description urdf/human-tpl.xacro ("fix joint limits for the arms"), in
# hri_body_detect's JointState order (hri_body_detect/jointstate.py): axis, lower, upper.
TEMPLATE = {
    "waist": ((0, 1, 0), -0.2, 1.0),
    "r_head": ((1, 0, 0), -1.0, 1.0), "y_head": ((0, 0, 1), -1.4, 1.4), "p_head": ((0, -1, 0), -1.5, 1.5),
    "l_y_shoulder": ((0, 0, -1), -1.1, 1.9), "l_p_shoulder": ((1, 0, 0), -0.4, 3.3),
    "l_r_shoulder": ((0, 0, 1), -1.7, 1.5), "l_elbow": ((0, -1, 0), 0.0, 2.5),
    "r_y_shoulder": ((0, 0, 1), -1.1, 1.9), "r_p_shoulder": ((-1, 0, 0), -0.4, 3.3),
    "r_r_shoulder": ((0, 0, -1), -1.7, 1.5), "r_elbow": ((0, -1, 0), 0.0, 2.5),
    "l_y_hip": ((0, 0, -1), -0.1, 0.6), "l_p_hip": ((1, 0, 0), -0.4, 3.3),
    "l_r_hip": ((0, -1, 0), -0.4, 0.7), "l_knee": ((0, -1, 0), -2.5, 0.0),
    "r_y_hip": ((0, 0, -1), -0.1, 0.6), "r_p_hip": ((-1, 0, 0), -0.4, 3.3),
    "r_r_hip": ((0, -1, 0), -0.4, 0.7), "r_knee": ((0, -1, 0), -2.5, 0.0),
}
FIXED = {"torso", "head", "l_wrist", "r_wrist", "l_ankle", "r_ankle"}
# REP-155's kinematic model diagram: every link, before the _<bodyID> suffix.
REP155_LINKS = {"body", "waist", "torso", "r_head", "y_head", "p_head", "head"} | {
    f"{side}_{name}" for side in "lr" for name in (
        "y_shoulder", "p_shoulder", "shoulder", "elbow", "wrist", "y_hip", "p_hip", "hip", "knee", "ankle")}
# (parent joint, child joint, model link at the parent, model link at the child) of each limb bone.
BONES = {
    "left upper arm": ("left_shoulder", "left_elbow", "l_shoulder", "l_elbow"),
    "left forearm": ("left_elbow", "left_wrist", "l_elbow", "l_wrist"),
    "right upper arm": ("right_shoulder", "right_elbow", "r_shoulder", "r_elbow"),
    "right forearm": ("right_elbow", "right_wrist", "r_elbow", "r_wrist"),
    "left thigh": ("left_hip", "left_knee", "l_hip", "l_knee"),
    "left shin": ("left_knee", "left_ankle", "l_knee", "l_ankle"),
    "right thigh": ("right_hip", "right_knee", "r_hip", "r_knee"),
    "right shin": ("right_knee", "right_ankle", "r_knee", "r_ankle"),
}


def skeleton_of(model: HumanModel, angles: np.ndarray) -> np.ndarray:
    """The H36M-17 joints (17, 3) of the model in a pose: joints at the links, the head top and nose on the head's
    z and x axes from the thorax."""
    fk = forward_kinematics(model, angles)
    at = {name: pose[:3, 3] for name, pose in fk.items()}
    head = fk["p_head"][:3, :3]
    thorax = at["torso"]
    points = {
        "pelvis": at["body"], "spine": thorax / 2, "thorax": thorax,
        "neck_nose": thorax + head @ [0.1, 0.0, 0.15], "head": thorax + head @ [0.0, 0.0, 0.25],
    }
    for side in ("left", "right"):
        s = side[0]
        points |= {f"{side}_hip": at[f"{s}_y_hip"], f"{side}_knee": at[f"{s}_knee"], f"{side}_ankle": at[f"{s}_ankle"],
                   f"{side}_shoulder": at[f"{s}_y_shoulder"], f"{side}_elbow": at[f"{s}_elbow"],
                   f"{side}_wrist": at[f"{s}_wrist"]}
    return np.array([points[name] for name in H36M17.names])


def bone_errors_deg(model: HumanModel, joints_body: np.ndarray, angles: np.ndarray) -> dict[str, np.ndarray]:
    """Angle (degrees) between each input bone and the same bone of the model's forward kinematics."""
    fk = forward_kinematics(model, angles)
    errors = {}
    for bone, (a, b, link_a, link_b) in BONES.items():
        want = joints_body[..., J[b], :] - joints_body[..., J[a], :]
        got = fk[link_b][..., :3, 3] - fk[link_a][..., :3, 3]
        cos = (want * got).sum(-1) / np.linalg.norm(want, axis=-1) / np.linalg.norm(got, axis=-1)
        errors[bone] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return errors


def body_pose(**moved) -> np.ndarray:
    """A standing person in the body frame (x forward, y left, z up, metres), with some joints moved."""
    standing = {
        "pelvis": (0.0, 0.0, 0.0), "spine": (0.0, 0.0, 0.25), "thorax": (0.0, 0.0, 0.5),
        "neck_nose": (0.09, 0.0, 0.63), "head": (0.02, 0.0, 0.76),
        "left_hip": (0.0, 0.1, 0.0), "left_knee": (0.02, 0.11, -0.42), "left_ankle": (-0.02, 0.11, -0.84),
        "right_hip": (0.0, -0.1, 0.0), "right_knee": (0.02, -0.11, -0.42), "right_ankle": (-0.02, -0.11, -0.84),
        "left_shoulder": (0.0, 0.17, 0.49), "left_elbow": (-0.02, 0.22, 0.21), "left_wrist": (0.04, 0.24, -0.04),
        "right_shoulder": (0.0, -0.17, 0.49), "right_elbow": (-0.02, -0.22, 0.21),
        "right_wrist": (0.04, -0.24, -0.04),
    }
    return np.array([moved.get(name, standing[name]) for name in H36M17.names], float)


POSES = {
    "standing": body_pose(),
    "t_pose": body_pose(left_elbow=(0.0, 0.45, 0.49), left_wrist=(0.0, 0.7, 0.49),
                        right_elbow=(0.0, -0.45, 0.49), right_wrist=(0.0, -0.7, 0.49)),
    "walking": body_pose(left_knee=(0.13, 0.1, -0.4), left_ankle=(0.05, 0.1, -0.8),
                         right_knee=(-0.09, -0.1, -0.41), right_ankle=(-0.26, -0.1, -0.77),
                         left_elbow=(-0.1, 0.2, 0.23), left_wrist=(-0.08, 0.22, -0.02),
                         right_elbow=(0.1, -0.2, 0.23), right_wrist=(0.3, -0.18, 0.1)),
    "waving": body_pose(left_elbow=(0.0, 0.43, 0.56), left_wrist=(0.0, 0.36, 0.82)),  # elbow square
    "reaching_and_akimbo": body_pose(right_elbow=(0.25, -0.17, 0.62), right_wrist=(0.47, -0.17, 0.64),
                                     left_elbow=(-0.12, 0.36, 0.3), left_wrist=(0.04, 0.2, 0.12)),
    "bowing": body_pose(spine=(0.12, 0.0, 0.22), thorax=(0.25, 0.0, 0.43), neck_nose=(0.37, 0.0, 0.5),
                        head=(0.4, 0.0, 0.62), left_shoulder=(0.25, 0.17, 0.42), left_elbow=(0.25, 0.18, 0.14),
                        left_wrist=(0.27, 0.18, -0.11), right_shoulder=(0.25, -0.17, 0.42),
                        right_elbow=(0.25, -0.18, 0.14), right_wrist=(0.27, -0.18, -0.11)),
    "head_turned_left": body_pose(neck_nose=(0.065, 0.065, 0.63), head=(0.0, 0.0, 0.76)),
    "crouching": body_pose(left_knee=(0.12, 0.13, -0.38), left_ankle=(-0.05, 0.13, -0.75),
                           right_knee=(0.12, -0.13, -0.38), right_ankle=(-0.05, -0.13, -0.75)),
}


def test_urdf_names_links_and_joints_as_rep155_with_the_body_id():
    links, joints = read_urdf(MODEL.urdf("a7f3c"))
    assert sorted(links) == sorted(f"{name}_a7f3c" for name in REP155_LINKS)
    assert len(set(links)) == len(links) and links[0] == "body_a7f3c"
    children = {j["child"] for j in joints.values()}
    assert [link for link in links if link not in children] == ["body_a7f3c"]
    movable = [name.removesuffix("_a7f3c") for name, j in joints.items() if j["type"] == "revolute"]
    assert tuple(movable) == MODEL.joint_names == tuple(TEMPLATE)
    assert {name.removesuffix("_a7f3c") for name, j in joints.items() if j["type"] == "fixed"} == FIXED
    assert sorted(links) == sorted(f"{name}_a7f3c" for name in MODEL.link_names)


def test_urdf_axes_and_limits_are_the_templates():
    _, joints = read_urdf(MODEL.urdf("3"))
    for name, (axis, lower, upper) in TEMPLATE.items():
        joint = joints[f"{name}_3"]
        np.testing.assert_array_equal(joint["axis"], axis, err_msg=name)
        assert (joint["lower"], joint["upper"]) == (lower, upper), name
        assert {"effort", "velocity"} <= set(joint["limit"]), name
    np.testing.assert_array_equal(MODEL.lower, [lower for _, lower, _ in TEMPLATE.values()])
    np.testing.assert_array_equal(MODEL.upper, [upper for _, _, upper in TEMPLATE.values()])


def test_segment_lengths_follow_the_height_in_the_templates_proportions():
    unit = 1.8 / 7.5
    model = HumanModel(height_m=1.8)
    expected = {"upper_arm": 1.6, "forearm": 1.0, "torso": 2.75, "thigh": 1.5, "shin": 2.0, "hip_width": 1.2,
                "shoulder_offset": 0.8, "neck": 0.25, "head_radius": 0.5}
    for name, units in expected.items():
        assert model.lengths_m[name] == pytest.approx(units * unit), name
    at_rest = {link: pose[:3, 3] for link, pose in forward_kinematics(model, np.zeros(20)).items()}
    np.testing.assert_allclose(at_rest["l_wrist"], [0.0, 0.8 * unit, (2.75 - 1.6 - 1.0) * unit], atol=1e-12)
    np.testing.assert_allclose(at_rest["r_ankle"], [0.0, -0.6 * unit, -3.5 * unit], atol=1e-12)
    np.testing.assert_allclose(at_rest["head"], [0.25 * unit, 0.0, (2.75 + 0.25 + 0.5) * unit], atol=1e-12)
    small = forward_kinematics(HumanModel(0.9), np.full(20, 0.3))
    for link, pose in forward_kinematics(model, np.full(20, 0.3)).items():
        np.testing.assert_allclose(pose[:3, 3], small[link][:3, 3] * 2.0, atol=1e-12, err_msg=link)


def test_forward_kinematics_is_the_urdfs():
    rng = np.random.default_rng(7)
    model = HumanModel(1.72)
    links, joints = read_urdf(model.urdf("9"))
    angles = rng.uniform(model.lower - 0.5, model.upper + 0.5, size=(40, 20))  # past the limits too
    ours = forward_kinematics(model, angles)
    worst_m = 0.0
    for k, q in enumerate(angles):
        theirs = urdf_forward_kinematics(links, joints, {f"{n}_9": a for n, a in zip(model.joint_names, q)})
        for link in model.link_names:
            worst_m = max(worst_m, np.abs(ours[link][k, :3, 3] - theirs[f"{link}_9"][:3, 3]).max())
            np.testing.assert_allclose(ours[link][k, :3, :3], theirs[f"{link}_9"][:3, :3], atol=1e-9)
    assert worst_m < 1e-6


def test_angles_from_the_models_own_skeletons_give_back_its_links():
    rng = np.random.default_rng(3)
    n = 300
    q = np.empty((n, 20))
    q[:, 0] = rng.uniform(-0.2, 1.0, n)
    q[:, 1:4] = rng.uniform([-0.5, -1.0, -0.6], [0.5, 1.0, 0.6], (n, 3))
    for arm in (4, 8):  # yaw, abduction away from the hanging and raised arm, twist, elbow bent 10 degrees or more
        abduction = np.where(rng.random(n) < 0.15, rng.uniform(-0.4, -0.1, n), rng.uniform(0.1, 3.0, n))
        q[:, arm:arm + 4] = np.stack([rng.uniform(-1.1, 1.9, n), abduction, rng.uniform(-1.7, 1.5, n),
                                      rng.uniform(0.2, 2.5, n)], -1)
    for leg in (12, 16):  # the knee bent 17 degrees or more, so its axis is seen
        q[:, leg:leg + 4] = rng.uniform([-0.1, -0.4, -0.4, -2.5], [0.6, 1.0, 0.7, -0.3], (n, 4))
    skeletons = np.stack([skeleton_of(MODEL, angles) for angles in q])
    solved = joint_angles(MODEL, skeletons)
    want, got = forward_kinematics(MODEL, q), forward_kinematics(MODEL, solved)
    for link in MODEL.link_names:
        np.testing.assert_allclose(got[link], want[link], atol=1e-6, err_msg=link)
    legs_and_head = [0, 1, 2, 3, *range(12, 20)]  # the arms have a second solution (y + pi, -p, r + pi)
    np.testing.assert_allclose(solved[:, legs_and_head], q[:, legs_and_head], atol=1e-6)


@pytest.mark.parametrize("name", sorted(POSES))
def test_forward_kinematics_of_the_angles_points_the_bones_of_a_pose(name):
    joints = POSES[name]
    angles = joint_angles(MODEL, joints)
    assert np.all((angles >= MODEL.lower) & (angles <= MODEL.upper))
    errors = bone_errors_deg(MODEL, joints, angles)
    assert max(errors.values()) < 5.0, {bone: round(float(e), 2) for bone, e in errors.items()}
    # The head link: z along thorax -> head, x toward the nose.
    head = forward_kinematics(MODEL, angles)["head"][:3, :3]
    up = joints[J["head"]] - joints[J["thorax"]]
    face = joints[J["neck_nose"]] - joints[J["thorax"]]
    forward = face - (face @ head[:, 2]) * head[:, 2]
    for axis, want in ((head[:, 2], up), (head[:, 0], forward)):
        assert np.degrees(np.arccos(min(axis @ want / np.linalg.norm(want), 1.0))) < 5.0


def test_the_angles_say_what_the_poses_do():
    q = {name: dict(zip(MODEL.joint_names, joint_angles(MODEL, joints))) for name, joints in POSES.items()}
    assert q["t_pose"]["l_p_shoulder"] == pytest.approx(np.pi / 2) == q["t_pose"]["r_p_shoulder"]
    assert q["t_pose"]["l_elbow"] == pytest.approx(0.0) and q["t_pose"]["l_r_shoulder"] == 0.0
    assert q["walking"]["l_r_hip"] > 0.2 and q["walking"]["r_r_hip"] < -0.1  # left thigh forward, right back
    assert q["walking"]["l_knee"] < -0.2 and q["walking"]["r_knee"] < -0.2
    assert q["waving"]["l_elbow"] == pytest.approx(np.pi / 2) and q["waving"]["l_p_shoulder"] > np.pi / 2
    reach = q["reaching_and_akimbo"]  # the right upper arm straight ahead and up, no sideways
    assert reach["r_y_shoulder"] == pytest.approx(np.pi / 2)
    assert reach["r_p_shoulder"] == pytest.approx(np.pi / 2 + np.arctan2(0.13, 0.25))
    assert q["bowing"]["waist"] == pytest.approx(np.arctan2(0.25, 0.43))
    assert q["head_turned_left"]["y_head"] == pytest.approx(np.pi / 4)
    assert q["standing"]["y_head"] == pytest.approx(0.0)


def test_a_seat_past_the_hip_limit_keeps_the_knee_bending_the_right_way():
    sitting = body_pose(left_knee=(0.4, 0.1, 0.0), left_ankle=(0.42, 0.1, -0.43),
                        right_knee=(0.4, -0.1, 0.0), right_ankle=(0.42, -0.1, -0.43))
    q = dict(zip(MODEL.joint_names, joint_angles(MODEL, sitting)))
    assert q["l_r_hip"] == 0.7 and q["r_r_hip"] == 0.7  # the template's flexion limit
    assert q["l_p_hip"] == pytest.approx(0.0, abs=1e-6) and q["r_p_hip"] == pytest.approx(0.0, abs=1e-6)
    errors = bone_errors_deg(MODEL, sitting, np.array(list(q.values())))
    assert errors["left shin"] < 5.0 and errors["right shin"] < 5.0


def test_angles_do_not_depend_on_where_the_camera_is():
    rng = np.random.default_rng(5)
    quats = rng.normal(size=(6, 4))
    turns = np.stack([transforms3d.quaternions.quat2mat(q / np.linalg.norm(q)) for q in quats])
    upright = POSES["walking"].copy()
    upright[:, :] -= upright[J["pelvis"]]
    joints_cam = upright @ turns.transpose(0, 2, 1) + rng.normal(size=(6, 1, 3))  # one person, six cameras
    rotation = body_rotation(joints_cam)
    joints_body = np.einsum("pji,pkj->pki", rotation, joints_cam - joints_cam[:, J["pelvis"], None])
    angles = joint_angles(MODEL, joints_body)
    np.testing.assert_allclose(angles, np.broadcast_to(angles[0], angles.shape), atol=1e-9)


def test_any_input_gives_finite_angles_within_the_limits_and_batches_like_one_by_one():
    rng = np.random.default_rng(11)
    joints = rng.normal(scale=0.4, size=(4, 50, 17, 3))
    joints[0, 0] = 0.0  # every bone of zero length
    joints[0, 1, J["left_wrist"]] = joints[0, 1, J["left_elbow"]]
    angles = joint_angles(MODEL, joints)
    assert angles.shape == (4, 50, 20) and np.isfinite(angles).all()
    assert np.all((angles >= MODEL.lower) & (angles <= MODEL.upper))
    np.testing.assert_array_equal(angles, joint_angles(MODEL, joints))
    for k in (0, 1, 17):
        np.testing.assert_allclose(joint_angles(MODEL, joints[2, k]), angles[2, k], atol=1e-12)


def test_real_mocap_inside_the_limits_is_reproduced():
    if importlib.util.find_spec("holosoma_retargeting") is None:
        pytest.skip("needs `pip install --no-deps holosoma-retargeting==0.1.0`")
    from pose3d_ros.data import mocap

    joints = np.concatenate([mocap.load_sequence(p)[::10] for p in mocap.find_sequences().values()]).astype(float)
    rotation = body_rotation(joints)
    joints_body = np.einsum("nji,nkj->nki", rotation, joints - joints[:, J["pelvis"], None])
    angles = joint_angles(MODEL, joints_body)
    assert np.all((angles >= MODEL.lower) & (angles <= MODEL.upper))
    at_limit = np.isclose(angles, MODEL.lower) | np.isclose(angles, MODEL.upper)
    errors = bone_errors_deg(MODEL, joints_body, angles)
    chains = {"left upper arm": 4, "left forearm": 4, "right upper arm": 8, "right forearm": 8,
              "left thigh": 12, "left shin": 12, "right thigh": 16, "right shin": 16}
    for bone, first in chains.items():
        inside = ~at_limit[:, first:first + 4].any(-1)
        assert inside.mean() > 0.4, bone  # climbing: the legs often flex past the template's 0.7 rad
        assert errors[bone][inside].max() < 5.0, bone
        # Past a limit the shin still points its way (the thigh stops at the limit).
        if bone.endswith("shin"):
            assert np.median(errors[bone]) < 2.0


def test_bad_arguments_say_what_is_expected():
    with pytest.raises(ValueError, match="body id 'a b'"):
        MODEL.urdf("a b")
    with pytest.raises(ValueError, match="body id ''"):
        MODEL.urdf("")
    with pytest.raises(ValueError, match="positive number of metres"):
        HumanModel(height_m=0.0)
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 17, 3\)"):
        joint_angles(MODEL, np.zeros((16, 3)))
    with pytest.raises(ValueError, match=r"expected \(\.\.\., 20\)"):
        forward_kinematics(MODEL, np.zeros(19))
