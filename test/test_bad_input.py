"""Bad input, over real DDS: each gets a counted, logged, published error, and the node keeps working."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from conftest import HEIGHT, WIDTH, Sender, make_probe, person_px, skeletons_msg, wait_for
from pose3d_ros.camera import CameraModel
from pose3d_ros.image import rgb_to_image_fields
from pose3d_ros.msg import Keypoint2D, Skeleton2D, Skeleton2DArray, Skeleton3DArray
from pose3d_ros.ros import qos
from pose3d_ros.ros.conversions import camera_info_msg
from pose3d_ros.ros.detector_node import KeypointDetector
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.ros.video_source_node import demo_video


def _demo_frame() -> np.ndarray:
    capture = cv2.VideoCapture(str(demo_video()))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, bgr = capture.read()
    assert ok
    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (WIDTH, HEIGHT))


def _image(stamp_s: int, rgb: np.ndarray | None = None, **fields) -> Image:
    msg = Image()
    msg.header.stamp.sec = stamp_s
    msg.header.frame_id = "camera_optical_frame"
    if rgb is not None:
        msg.encoding, msg.step, data = rgb_to_image_fields(rgb)
        msg.height, msg.width = rgb.shape[:2]
        msg.data = data
    for name, value in fields.items():
        setattr(msg, name, value)
    return msg


@pytest.fixture(params=[False, True], ids=["worker_thread", "in_callback"])
def detector(ros_graph, request):
    node = ros_graph.add(KeypointDetector, detect_in_callback=request.param)
    sender = ros_graph.add(Sender)
    wait_for(lambda: sender.images.get_subscription_count() >= 1, what="the detector's image subscription")
    return node, sender


@pytest.fixture
def lifter(ros_graph):
    node = ros_graph.add(Lifter)
    sender = ros_graph.add(Sender)
    probe = ros_graph.add(make_probe({"skeletons_3d": (Skeleton3DArray, qos.RESULTS),
                                      "/diagnostics": (DiagnosticArray, qos.RESULTS)}))
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1 and sender.infos.get_subscription_count() >= 1
             and probe.count_publishers("skeletons_3d") >= 1, what="the lifter's subscriptions")
    return node, sender, probe


def _published_problem(probe, node_name: str, kind: str) -> str | None:
    """The last message of ``kind`` that /diagnostics carried for ``node_name``, once its counter is > 0."""
    for msg in reversed(probe.got["/diagnostics"]):
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name.endswith(node_name) and int(values.get(f"count/{kind}", 0)) > 0:
                return values[f"last/{kind}"]
    return None


@pytest.mark.parametrize("fields, kind, text", [
    ({"encoding": "yuv422"}, "bad_image", "yuv422"),
    ({"step": 100}, "bad_image", "step 100"),
    ({"data": bytes(1000)}, "bad_image", "1000"),
    ({"height": 0, "width": 0, "step": 0, "data": b""}, "bad_image", "empty"),
    ({"encoding": "mono8", "height": 1, "width": 32767, "step": 32767, "data": bytes(32767)}, "bad_image",
     "image 32767x1"),
    ({"encoding": "mono8", "height": 20, "width": 640, "step": 640, "data": bytes(12800)}, "detector_error",
     "image 640x20"),
    ({"header": Header(stamp=Time(sec=1, nanosec=1_500_000_000))}, "bad_stamp", "nanosec 1500000000"),
])
def test_detector_rejects_malformed_images_and_keeps_running(detector, fields, kind, text):
    node, sender = detector
    sender.images.publish(_image(1, _demo_frame(), **fields))
    wait_for(lambda: node.health.counts[kind] == 1, what=f"a '{kind}' count")
    assert text in node.health.last_message[kind]
    sender.images.publish(_image(2, _demo_frame()))
    wait_for(lambda: node.frames_processed == 1, what="a good frame processed after the bad one")


def test_detector_skips_a_late_frame_and_starts_over_in_every_loop_of_a_bag(detector):
    node, sender = detector
    frame = _demo_frame()
    sender.images.publish(_image(10, frame))
    wait_for(lambda: node.frames_processed == 1, what="the first frame")
    late = _image(9, frame)
    late.header.stamp.nanosec = 995_000_000  # 5 ms before the newest
    sender.images.publish(late)
    wait_for(lambda: node.health.counts["stamp_out_of_order"] == 1, what="a 'stamp_out_of_order' count")
    for loop in range(3):  # a bag of stamps 11..13 s played three times
        for stamp_s in (11, 12, 13):
            sender.images.publish(_image(stamp_s, frame))
            wait_for(lambda n=2 + 3 * loop + stamp_s - 11: node.frames_processed == n, what=f"loop {loop} output")
    assert node.health.counts["time_jump_back"] == 2
    assert "time jumped back 2.000 s" in node.health.last_message["time_jump_back"]
    assert node.frames_processed == 10


def test_an_unexpected_failure_costs_the_detector_one_frame_not_its_thread(detector):
    node, sender = detector
    process = node.stage.process

    def fail_once(rgb, stamp_ns):
        node.stage.process = process
        raise RuntimeError("a backend bug")

    node.stage.process = fail_once
    sender.images.publish(_image(1, _demo_frame()))
    wait_for(lambda: node.health.counts["internal_error"] == 1, what="an 'internal_error' count")
    assert "RuntimeError: a backend bug" in node.health.last_message["internal_error"]
    sender.images.publish(_image(2, _demo_frame()))
    wait_for(lambda: node.frames_processed == 1, what="the next frame processed")


def test_lifter_problems_are_counted_logged_and_published(lifter):
    node, sender, probe = lifter
    person = person_px()
    # No CameraInfo yet: a nominal camera from the message's image size, and a counted warning.
    sender.skeletons.publish(skeletons_msg(1, person))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 1, what="3D output without CameraInfo")
    assert node.health.counts["no_camera_info"] == 1
    # All-zero K: uncalibrated, counted, output says so.
    sender.infos.publish(camera_info_msg(_image(2).header, CameraModel.nominal(WIDTH, HEIGHT)))
    wait_for(lambda: node.health.counts["uncalibrated_camera"] >= 1, what="an 'uncalibrated_camera' count")
    sender.skeletons.publish(skeletons_msg(2, person))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 2, what="3D output with an uncalibrated camera")
    assert probe.got["skeletons_3d"][-1].skeletons[0].root_source == 2  # ROOT_ASSUMED_DEPTH
    # NaN and far-outside keypoints: treated as missing, person still lifted.
    bad = person.copy()
    bad[13] = np.nan
    bad[16] = [1e6, -1e6]
    sender.skeletons.publish(skeletons_msg(3, bad))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 3, what="3D output despite bad keypoints")
    confidence = np.array(probe.got["skeletons_3d"][-1].skeletons[0].confidence)
    assert confidence[13] == 0 and confidence[16] == 0 and confidence[0] == 1
    assert node.health.counts["nonfinite_keypoints"] == 1 and node.health.counts["keypoints_outside_image"] == 1
    # A stamp no frame can have: skipped and counted.
    sender.skeletons.publish(skeletons_msg(-3, person))
    wait_for(lambda: node.health.counts["bad_stamp"] == 1, what="a 'bad_stamp' count")
    # A message slightly out of order: skipped and counted.
    sender.skeletons.publish(skeletons_msg(2, person, nanosec=999_000_000))
    wait_for(lambda: node.health.counts["stamp_out_of_order"] == 1, what="a 'stamp_out_of_order' count")
    # Another layout: skipped, with the layout named.
    sender.skeletons.publish(skeletons_msg(4, person[:13], layout="coco17"))
    wait_for(lambda: node.health.counts["bad_layout"] == 1, what="a 'bad_layout' count")
    assert "coco17" in node.health.last_message["bad_layout"]
    # A CameraInfo that is no pinhole camera: counted, previous intrinsics kept.
    broken = camera_info_msg(_image(5).header, CameraModel.nominal(WIDTH, HEIGHT))
    broken.k = [-1.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]
    sender.infos.publish(broken)
    wait_for(lambda: node.health.counts["bad_camera_info"] == 1, what="a 'bad_camera_info' count")
    # Still working, and every problem on /diagnostics with its message.
    sender.skeletons.publish(skeletons_msg(6, person))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 5, what="3D output after all the bad input")
    for kind, text in (("nonfinite_keypoints", "NaN"), ("keypoints_outside_image", "outside"),
                       ("stamp_out_of_order", "before the newest"), ("bad_layout", "coco17"),
                       ("no_camera_info", "camera_info"), ("uncalibrated_camera", "all-zero K"),
                       ("bad_camera_info", "-1.0")):
        wait_for(lambda k=kind: _published_problem(probe, "lifter", k) is not None, 5, f"'{kind}' on /diagnostics")
        assert text in _published_problem(probe, "lifter", kind)


def _crowd(stamp_s: int, keypoints_px: np.ndarray, track_ids: list[int]) -> Skeleton2DArray:
    """skeletons_msg's person once per track id, shifted 2 px per copy."""
    msg = skeletons_msg(stamp_s, keypoints_px)
    one = msg.skeletons[0]
    msg.skeletons = [Skeleton2D(track_id=i, layout=one.layout, score=1.0, keypoints=[
        Keypoint2D(x_px=k.x_px + 2 * n, y_px=k.y_px, confidence=1.0) for k in one.keypoints])
        for n, i in enumerate(track_ids)]
    return msg


def test_lifter_lifts_every_loop_of_a_bag_and_says_so_on_diagnostics(lifter):
    node, sender, probe = lifter
    sender.infos.publish(camera_info_msg(_image(1).header, CameraModel.nominal(WIDTH, HEIGHT)))
    person = person_px()
    for loop in range(3):  # the 2D of a bag of stamps 11..13 s played three times
        for stamp_s in (11, 12, 13):
            sender.skeletons.publish(skeletons_msg(stamp_s, person))
            wait_for(lambda n=1 + 3 * loop + stamp_s - 11: len(probe.got["skeletons_3d"]) == n,
                     what=f"loop {loop} output")
    assert [len(m.skeletons) for m in probe.got["skeletons_3d"]] == [1] * 9
    assert node.health.counts["time_jump_back"] == 2
    wait_for(lambda: _published_problem(probe, "lifter", "time_jump_back") is not None, 5,
             "'time_jump_back' on /diagnostics")
    assert "time jumped back 2.000 s" in _published_problem(probe, "lifter", "time_jump_back")


def test_lifter_survives_crowds_absurd_intrinsics_and_a_frame_from_the_future(lifter):
    node, sender, probe = lifter
    person = person_px()

    def outputs() -> int:
        return len(probe.got["skeletons_3d"])

    sender.infos.publish(camera_info_msg(_image(1).header, CameraModel.nominal(WIDTH, HEIGHT, 60.0)))
    # More people than max_people (16) in one message; then one skeleton 5000 times under one track id.
    sender.skeletons.publish(_crowd(1, person, list(range(17))))
    wait_for(lambda: outputs() == 1, what="3D output for a crowd of 17")
    assert len(probe.got["skeletons_3d"][-1].skeletons) == 16 and node.health.counts["too_many_people"] == 1
    sender.skeletons.publish(_crowd(2, person, [7] * 5000))
    wait_for(lambda: outputs() == 2, 30, what="3D output for 5000 copies of one track")
    assert [s.track_id for s in probe.got["skeletons_3d"][-1].skeletons] == [7]
    assert "4999 of 5000" in node.health.last_message["duplicate_track_id"]
    # Intrinsics no camera has: refused and counted; the previous ones stay.
    for n, k in enumerate(([1e-30, 0, 320, 0, 1e-30, 240, 0, 0, 1], [500.0, 0, 1e300, 0, 500, 240, 0, 0, 1])):
        broken = camera_info_msg(_image(3).header, CameraModel.nominal(WIDTH, HEIGHT))
        broken.k = k
        sender.infos.publish(broken)
        wait_for(lambda n=n: node.health.counts["bad_camera_info"] == n + 1, what="a 'bad_camera_info' count")
    sender.skeletons.publish(skeletons_msg(3, person))
    wait_for(lambda: outputs() == 3, what="3D output after absurd intrinsics")
    assert np.isfinite([[p.x, p.y, p.z] for p in probe.got["skeletons_3d"][-1].skeletons[0].joints]).all()
    # A CameraInfo of another shape than the images: a nominal camera, counted, people still placed.
    other = camera_info_msg(_image(4).header, CameraModel.nominal(WIDTH, 1))
    other.k = [500.0, 0, 320, 0, 500, 0.5, 0, 0, 1]
    sender.infos.publish(other)
    wait_for(lambda: node._camera is not None and node._camera.height == 1, what="the 640x1 CameraInfo")
    sender.skeletons.publish(skeletons_msg(4, person))
    wait_for(lambda: outputs() == 4 and node.health.counts["camera_info_size"] >= 1, what="3D output, counted")
    assert len(probe.got["skeletons_3d"][-1].skeletons) == 1
    # One message stamped an hour ahead: the next correctly stamped one is a jump back, lifted.
    sender.skeletons.publish(skeletons_msg(3600 + 5, person))
    wait_for(lambda: outputs() == 5, what="3D output of the future message")
    sender.skeletons.publish(skeletons_msg(6, person))
    wait_for(lambda: outputs() == 6 and node.health.counts["time_jump_back"] == 1, what="the next good frame")


def test_lifter_without_its_model_reports_an_error_and_stays_up(ros_graph, tmp_path):
    missing = tmp_path / "nope.onnx"
    node = ros_graph.add(Lifter, parameter_overrides=[Parameter("model", value=str(missing))])
    probe = ros_graph.add(make_probe({"/diagnostics": (DiagnosticArray, qos.RESULTS)}))
    assert node.stage is None and str(missing) in node.health.fatal
    wait_for(lambda: any(s.level == s.ERROR and str(missing) in s.message
                         for m in probe.got["/diagnostics"] for s in m.status), what="an ERROR on /diagnostics")
    sender = ros_graph.add(Sender)
    wait_for(lambda: sender.skeletons.get_subscription_count() >= 1, what="the lifter's subscription")
    sender.skeletons.publish(skeletons_msg(1, person_px()))
    published = len(probe.got["/diagnostics"])
    wait_for(lambda: len(probe.got["/diagnostics"]) >= published + 2, what="the node still reporting after input")


def test_lifter_follows_a_camera_that_changes_resolution_mid_stream(lifter):
    """A driver restarted at twice the resolution: CameraInfo and 2D both switch to 1280x960. The frame caught in
    between (2D already at 1280x960, CameraInfo still 640x480) is lifted with scaled intrinsics and counted; once
    both agree nothing is counted, and the person stays where they are, on the same track."""
    node, sender, probe = lifter
    person = person_px()
    calibrated = CameraModel(np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]]), WIDTH, HEIGHT)
    double = CameraModel(np.diag([2.0, 2.0, 1.0]) @ calibrated.K, 2 * WIDTH, 2 * HEIGHT)

    def at_double(stamp_s: int) -> Skeleton2DArray:
        msg = skeletons_msg(stamp_s, 2 * person)
        msg.image_width, msg.image_height = 2 * WIDTH, 2 * HEIGHT
        return msg

    def root(n: int) -> np.ndarray:
        body = probe.got["skeletons_3d"][n].skeletons[0].body.position
        return np.array([body.x, body.y, body.z])

    sender.infos.publish(camera_info_msg(_image(1).header, calibrated))
    wait_for(lambda: node._camera is not None and node._camera.width == WIDTH, what="the 640x480 CameraInfo")
    sender.skeletons.publish(skeletons_msg(1, person))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 1, what="3D output at 640x480")
    sender.skeletons.publish(at_double(2))
    wait_for(lambda: len(probe.got["skeletons_3d"]) == 2, what="3D output of the frame caught in between")
    assert node.health.counts["camera_info_size"] == 1
    assert "intrinsics scaled" in node.health.last_message["camera_info_size"]
    sender.infos.publish(camera_info_msg(_image(3).header, double))
    wait_for(lambda: node._camera.width == 2 * WIDTH, what="the 1280x960 CameraInfo")
    for stamp_s in (3, 4):
        sender.skeletons.publish(at_double(stamp_s))
        wait_for(lambda n=stamp_s: len(probe.got["skeletons_3d"]) == n, what="3D output at 1280x960")
    assert node.health.counts["camera_info_size"] == 1, "counted although CameraInfo and 2D agree"
    assert {s.track_id for m in probe.got["skeletons_3d"] for s in m.skeletons} == {1}
    for n in (1, 2, 3):
        assert np.linalg.norm(root(n) - root(0)) < 0.05, f"message {n} moved the person"
