"""The lifter node's optional outputs, over real DDS."""

from __future__ import annotations

import numpy as np
from rclpy.parameter import Parameter

from conftest import Sender, make_probe, person_px, skeletons_msg, wait_for
from pose3d_ros.msg import Skeleton3DArray
from pose3d_ros.ros import qos
from pose3d_ros.ros.lifter_node import Lifter

FRAME_NS = 33_333_333


def _pelvis(msg: Skeleton3DArray) -> np.ndarray:
    p = msg.skeletons[0].joints[0]
    return np.array([p.x, p.y, p.z])


def test_lookahead_output_is_where_a_walking_person_will_be(ros_graph):
    lifter = ros_graph.add(Lifter, parameter_overrides=[Parameter("lookahead_s", value=0.2)])
    sender = ros_graph.add(Sender)
    topics = {"skeletons_3d": (Skeleton3DArray, qos.RESULTS), "skeletons_3d_ahead": (Skeleton3DArray, qos.RESULTS)}
    probe = ros_graph.add(make_probe(topics))
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1
             and probe.count_publishers("skeletons_3d_ahead") >= 1, what="the lifter")
    frames = 12
    for i in range(frames):  # 1 m/s to the camera's right, 3 m away
        t_ns = 1_000_000_000 + i * FRAME_NS
        sender.skeletons.publish(skeletons_msg(t_ns // 10**9, person_px((-0.2 + i * FRAME_NS * 1e-9, 0, 3)),
                                               nanosec=t_ns % 10**9))
        wait_for(lambda n=i + 1: len(probe.got["skeletons_3d_ahead"]) == n, what=f"prediction {i + 1}")
    now, ahead = probe.got["skeletons_3d"][-1], probe.got["skeletons_3d_ahead"][-1]
    assert ahead.header == now.header, "a prediction keeps its image's header"
    lookahead = ahead.skeletons[0].lookahead
    assert (lookahead.sec, lookahead.nanosec) == (0, 200_000_000)
    track = np.stack([_pelvis(m) for m in probe.got["skeletons_3d"][-6:]])
    velocity = (track[-1] - track[0]) / (5 * FRAME_NS * 1e-9)
    assert velocity[0] > 0.5, f"the lifted person should move right; moved at {velocity} m/s"
    np.testing.assert_allclose(_pelvis(ahead), _pelvis(now) + 0.2 * velocity, atol=0.03)
    assert lifter.health.counts["no_camera_info"] == frames
