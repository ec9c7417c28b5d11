"""lift.launch.py's contract, checked where `launch` cannot be installed (it is not on PyPI).

Where launch_ros imports (a ROS 2 install), the launch description is also built. Elsewhere these tests check
what it would start: the executables and files it names exist in the install, the parameter file sets only
parameters its nodes declare, and every declared parameter is in the file.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
import yaml

from pose3d_ros.ros import share_dir
from pose3d_ros.ros.detector_node import PARAMETERS as DETECTOR
from pose3d_ros.ros.lifter_node import PARAMETERS as LIFTER
from pose3d_ros.ros.video_source_node import PARAMETERS as VIDEO_SOURCE

REPO = Path(__file__).resolve().parents[1]
DECLARED = {"video_source": VIDEO_SOURCE, "keypoint_detector": DETECTOR, "lifter": LIFTER}


@pytest.fixture(scope="module")
def launch_file():
    path = share_dir() / "launch" / "lift.launch.py"
    assert path.read_text() == (REPO / "launch" / "lift.launch.py").read_text(), \
        "the installed launch file is stale: run tools/setup.sh"
    spec = importlib.util.spec_from_file_location("lift_launch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_executables_and_files_it_names_are_installed(launch_file):
    lib = Path(sys.prefix) / "lib" / launch_file.PACKAGE
    for executable in [*launch_file.NODES, launch_file.COMPOSED_EXECUTABLE]:
        assert (lib / executable).is_file(), f"executable '{executable}' not installed in {lib}"
    for parts in (launch_file.PARAMS_FILE, launch_file.FASTDDS_PROFILE, launch_file.RVIZ_CONFIG):
        assert (share_dir() / Path(*parts)).is_file(), f"{Path(*parts)} not installed in {share_dir()}"


def test_parameter_file_matches_the_declared_parameters(launch_file):
    params = yaml.safe_load((share_dir() / Path(*launch_file.PARAMS_FILE)).read_text())
    assert set(params) == set(launch_file.NODES.values())
    for node, declared in DECLARED.items():
        in_file = params[node]["ros__parameters"]
        assert set(in_file) == set(declared), f"{node}: file and declarations differ by {set(in_file) ^ set(declared)}"
        for name, value in in_file.items():
            default = declared[name][0]
            assert type(value) is type(default) or (isinstance(default, list) and isinstance(value, list)), \
                f"{node}.{name}: file gives {value!r}, the node declares a {type(default).__name__}"


def test_parameters_set_from_launch_arguments_are_declared(launch_file):
    for node, mapping in launch_file.NODE_ARGUMENT_PARAMETERS.items():
        for parameter, argument in mapping.items():
            assert parameter in DECLARED[node], f"launch sets undeclared {node}.{parameter}"
            assert argument in launch_file.ARGUMENTS


def test_rviz_is_left_out_with_a_message_where_it_is_not_installed(launch_file):
    prefixes = os.environ["AMENT_PREFIX_PATH"].split(":")
    installed = any((Path(prefix) / "share" / "ament_index" / "resource_index" / "packages" / "rviz2").exists()
                    for prefix in prefixes)
    assert launch_file.rviz_installed() is installed


def test_launch_description_builds_where_launch_ros_exists(launch_file):
    pytest.importorskip("launch_ros", reason="launch_ros is not on PyPI; the checks above stand in for it here")
    assert launch_file.generate_launch_description().entities
