"""/tf as the lifter publishes it interoperates with tf2 and rviz2: the official TFMessage type, by hash."""

from __future__ import annotations

from conftest import wait_for
from pose3d_ros.ros.lifter_node import Lifter

# tf2_msgs/msg/TFMessage as every ROS 2 distribution since Iron defines it (REP-2011 type hash).
OFFICIAL_TFMESSAGE_HASH = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"


def test_tf_is_published_with_the_official_tfmessage_type_hash(ros_graph):
    lifter = ros_graph.add(Lifter)
    wait_for(lambda: lifter.get_publishers_info_by_topic("/tf"), what="the /tf publisher in the graph")
    (info,) = lifter.get_publishers_info_by_topic("/tf")
    assert info.topic_type == "tf2_msgs/msg/TFMessage"
    assert str(info.topic_type_hash) == OFFICIAL_TFMESSAGE_HASH
