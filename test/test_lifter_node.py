"""The lifter node's model choice and optional inputs and outputs (depth, look-ahead), over real DDS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from conftest import HEIGHT, WIDTH, Sender, make_probe, person_px, skeletons_msg, wait_for
from pose3d_ros.lift import DEFAULT_MODEL, WEIGHTS_DIR, LifterError, resolve_model
from pose3d_ros.msg import Skeleton3D, Skeleton3DArray
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


def _depth_image(stamp_s: int, depth_mm: np.ndarray) -> Image:
    msg = Image(height=depth_mm.shape[0], width=depth_mm.shape[1], encoding="16UC1", step=2 * depth_mm.shape[1])
    msg.header.stamp.sec = stamp_s
    msg.data = depth_mm.astype("<u2").tobytes()
    return msg


def test_depth_image_places_the_person_at_its_distance(ros_graph):
    """2D says nothing about size; a registered depth image says the person stands 4.5 m away."""
    lifter = ros_graph.add(Lifter, parameter_overrides=[Parameter("use_depth", value=True)])
    sender = ros_graph.add(Sender)
    depth_pub = sender.create_publisher(Image, "depth", qos.CAMERA_PUBLISHER)
    probe = ros_graph.add(make_probe({"skeletons_3d": (Skeleton3DArray, qos.RESULTS)}))
    wait_for(lambda: depth_pub.get_subscription_count() >= 1 and sender.skeletons.get_subscription_count() >= 1
             and probe.count_publishers("skeletons_3d") >= 1, what="the lifter")
    sender.skeletons.publish(skeletons_msg(1, person_px()))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 1, what="3D output without depth yet")
    assert lifter.health.counts["no_depth"] == 1
    depth_pub.publish(_depth_image(2, np.full((HEIGHT, WIDTH), 4500, np.uint16)))
    wait_for(lambda: lifter._depth is not None, what="the depth image")
    sender.skeletons.publish(skeletons_msg(2, person_px()))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 2, what="3D output with depth")
    skeleton = probe.got["skeletons_3d"][-1].skeletons[0]
    assert skeleton.root_source == Skeleton3D.ROOT_FROM_DEPTH
    depths = np.array([p.z for p in skeleton.joints])
    assert abs(np.median(depths) - 4.6) < 0.15, f"joints at {np.median(depths):.2f} m; the surface is at 4.5 m"
    sender.skeletons.publish(skeletons_msg(3, person_px()))  # 1 s after the depth image: too old
    wait_for(lambda: lifter.health.counts["depth_stale"] == 1, what="a 'depth_stale' count")


def test_model_parameter_takes_a_packaged_name_or_a_path():
    assert resolve_model("", "auto") == DEFAULT_MODEL
    assert resolve_model("causal_liu_rf81", "onnxruntime") == WEIGHTS_DIR / "causal_liu_rf81.onnx"
    assert resolve_model("causal_liu_rf81", "auto") == WEIGHTS_DIR / "causal_liu_rf81.onnx"
    assert resolve_model("causal_liu_rf81", "torch") == WEIGHTS_DIR / "causal_liu_rf81.pt"
    assert resolve_model("runs/lifter/best.onnx", "auto") == Path("runs/lifter/best.onnx")
    assert resolve_model("mine.onnx", "onnxruntime") == Path("mine.onnx")
    with pytest.raises(LifterError, match=r"lifter model 'causal_liu_rf9' is neither a file path nor a model in "
                                          r".*weights \(\*\.onnx\); expected one of: .*causal_liu_rf81"):
        resolve_model("causal_liu_rf9", "auto")


def test_unknown_model_name_stops_the_node_saying_which_names_exist(ros_graph):
    lifter = ros_graph.add(Lifter, parameter_overrides=[Parameter("model", value="causal_liu_rf9")])
    assert lifter.stage is None
    assert "'causal_liu_rf9'" in lifter.health.fatal and "causal_liu_rf81" in lifter.health.fatal


def test_keypoint_model_by_name_lifts_without_reading_images(ros_graph):
    lifter = ros_graph.add(Lifter, parameter_overrides=[Parameter("model", value="causal_liu_rf81"),
                                                        Parameter("backend", value="onnxruntime")])
    assert lifter.stage is not None and lifter.stage.crop_size == 0
    assert "image_raw" not in [s.topic_name.rsplit("/", 1)[-1] for s in lifter.subscriptions]
