"""The hri_msgs stand-in (tools/hri_msgs_shim) interoperates with ROS4HRI (REP-155): each message's type hash on the
ROS graph equals the hash rosidl computes from the official definition, and the Python classes carry its fields.

test/data/hri_msgs/*.msg are ros4hri/hri_msgs 2.0.0 (humble-devel, commit 4e7c176) msg/*.msg, unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D, Skeleton2D
from rclpy.node import Node
from rosidl_adapter.msg import convert_msg_to_idl
from rosidl_adapter.parser import parse_message_string
from rosidl_generator_type_description import generate_type_hash

from conftest import wait_for

OFFICIAL_DIR = Path(__file__).parent / "data" / "hri_msgs"

# Topics as REP-155 names them for a body "b1"; REP-155 gives NormalizedPointOfInterest2D no topic of its own.
TOPICS = {
    IdsList: "/humans/bodies/tracked",
    NormalizedRegionOfInterest2D: "/humans/bodies/b1/roi",
    Skeleton2D: "/humans/bodies/b1/skeleton2d",
    NormalizedPointOfInterest2D: "/test_hri_msgs/point_of_interest",
}

FIELDS = {
    IdsList: {"header": "std_msgs/Header", "ids": "sequence<string>"},
    NormalizedPointOfInterest2D: {"x": "float", "y": "float", "c": "float"},
    NormalizedRegionOfInterest2D: {"header": "std_msgs/Header", "xmin": "float", "ymin": "float", "xmax": "float",
                                   "ymax": "float", "c": "float"},
    Skeleton2D: {"header": "std_msgs/Header", "skeleton": "hri_msgs/NormalizedPointOfInterest2D[18]"},
}


def official_type_hashes(work_dir: Path) -> dict[str, str]:
    """RIHS01 hash of each official definition, as rosidl computes it at build time: .msg -> .idl -> hash.

    Returns {"hri_msgs/msg/Name": "RIHS01_<64 hex>"}.
    """
    idl_dir, out_dir = work_dir / "idl" / "msg", work_dir / "type_description"
    idl_dir.mkdir(parents=True)
    idl_tuples = [
        f"{work_dir / 'idl'}:msg/{convert_msg_to_idl(OFFICIAL_DIR, 'hri_msgs', Path(msg.name), idl_dir).name}"
        for msg in sorted(OFFICIAL_DIR.glob("*.msg"))
    ]
    args_file = work_dir / "type_description_args.json"
    args_file.write_text(json.dumps({
        "package_name": "hri_msgs",
        "output_dir": str(out_dir),
        "idl_tuples": idl_tuples,
        "include_paths": [f"std_msgs:{get_package_share_directory('std_msgs')}"],
    }))
    hashes = {}
    for json_file in generate_type_hash(str(args_file)):
        top = json.loads(json_file.read_text())["type_hashes"][0]
        hashes[top["type_name"]] = top["hash_string"]
    return hashes


def test_type_hashes_on_the_graph_are_those_of_the_official_definitions(ros_graph, tmp_path):
    official = official_type_hashes(tmp_path)
    assert sorted(official) == sorted(f"hri_msgs/msg/{t.__name__}" for t in TOPICS)
    node = ros_graph.add(Node, node_name="hri_msgs_probe")
    for msg_type, topic in TOPICS.items():
        node.create_publisher(msg_type, topic, 1)
    wait_for(lambda: all(node.get_publishers_info_by_topic(t) for t in TOPICS.values()),
             what="the four hri_msgs publishers in the graph")
    on_graph = {}
    for topic in TOPICS.values():
        (info,) = node.get_publishers_info_by_topic(topic)
        on_graph[info.topic_type] = str(info.topic_type_hash)
    assert on_graph == official


def test_generated_classes_have_the_official_fields_and_constants():
    for msg_type, fields in FIELDS.items():
        assert msg_type.get_fields_and_field_types() == fields, msg_type.__name__
        spec = parse_message_string("hri_msgs", msg_type.__name__,
                                    (OFFICIAL_DIR / f"{msg_type.__name__}.msg").read_text())
        assert [f.name for f in spec.fields] == list(fields), msg_type.__name__
        assert {c.name: getattr(msg_type, c.name) for c in spec.constants} == {c.name: c.value for c in spec.constants}
    assert len(Skeleton2D().skeleton) == 18  # one point per keypoint code, NOSE = 0 to RIGHT_EAR = 17
