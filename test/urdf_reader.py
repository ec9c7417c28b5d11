"""A URDF read and walked as the URDF specification defines it, independently of pose3d_ros.human_model: what
robot_state_publisher would compute from a URDF and joint states (tests only)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import transforms3d


def numbers(element: ET.Element | None, key: str, default: str) -> np.ndarray:
    return np.array((element.get(key, default) if element is not None else default).split(), float)


def read_urdf(text: str) -> tuple[list[str], dict[str, dict]]:
    """Link names and joints (type, parent, child, xyz, rpy, axis, lower, upper) of a URDF document."""
    robot = ET.fromstring(text)
    assert robot.tag == "robot"
    links = [link.get("name") for link in robot.findall("link")]
    joints = {}
    for joint in robot.findall("joint"):
        origin, axis, limit = joint.find("origin"), joint.find("axis"), joint.find("limit")
        joints[joint.get("name")] = {
            "type": joint.get("type"), "parent": joint.find("parent").get("link"),
            "child": joint.find("child").get("link"), "xyz": numbers(origin, "xyz", "0 0 0"),
            "rpy": numbers(origin, "rpy", "0 0 0"), "axis": numbers(axis, "xyz", "1 0 0"),
            "lower": float(limit.get("lower")) if limit is not None else None,
            "upper": float(limit.get("upper")) if limit is not None else None,
            "limit": dict(limit.attrib) if limit is not None else None,
        }
    return links, joints


def urdf_forward_kinematics(links: list[str], joints: dict[str, dict], angles: dict[str, float]) -> dict:
    """Pose (4, 4) of every link in the root link, walking the URDF's joints as URDF defines them:
    child = parent * origin(xyz, rpy fixed-axis roll-pitch-yaw) * rotation(axis, angle)."""
    children = {j["child"] for j in joints.values()}
    (root,) = [link for link in links if link not in children]
    poses = {root: np.eye(4)}
    pending = dict(joints)
    while pending:
        ready = [name for name, j in pending.items() if j["parent"] in poses]
        assert ready, f"joints {sorted(pending)} hang off no link reachable from {root}"
        for name in ready:
            j = pending.pop(name)
            local = np.eye(4)
            local[:3, :3] = transforms3d.euler.euler2mat(*j["rpy"], "sxyz")
            local[:3, 3] = j["xyz"]
            if j["type"] == "revolute":
                turn = np.eye(4)
                turn[:3, :3] = transforms3d.axangles.axangle2mat(j["axis"], angles[name])
                local = local @ turn
            else:
                assert j["type"] == "fixed", f"joint {name} of type {j['type']}"
            poses[j["child"]] = poses[j["parent"]] @ local
    return poses
