"""Lifters that read image crops: LiftStage cuts them from the image the keypoints came from, or lifts nobody;
the lifter node subscribes to the images for such a model only and lifts each message with its own image."""


import numpy as np
import pytest
import torch
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image

from conftest import HEIGHT, WIDTH, Sender, make_probe, person_px, skeletons_msg, wait_for
from pose3d_ros.camera import CameraModel
from pose3d_ros.lift.architectures import build_model
from pose3d_ros.lift.crops import crop_people
from pose3d_ros.msg import Skeleton3DArray
from pose3d_ros.people import Person2D
from pose3d_ros.pipeline import LiftStage
from pose3d_ros.ros import qos
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.training.export import export, save_untrained

T = 5
CROP = 8
FRAME_NS = 33_333_333
CAMERA = CameraModel(np.array([[500.0, 0.0, 160.0], [0.0, 500.0, 120.0], [0.0, 0.0, 1.0]]), 320, 240)
SKELETON_REL_M = np.random.default_rng(0).normal(0.0, 0.25, size=(17, 3))
SKELETON_REL_M[0] = 0.0


class CropLifter:
    """Reads crops like lifting_by_image; returns a fixed skeleton and records what it was given."""

    receptive_field = T
    layout_name = "h36m17"
    crop_size = CROP

    def __init__(self):
        self.calls: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def lift(self, keypoints_px, confidence, camera, crops=None):
        assert crops is not None and crops.shape == (len(keypoints_px), 3, CROP, CROP) and crops.dtype == np.float32
        self.calls.append((keypoints_px.copy(), confidence.copy(), crops.copy()))
        return np.repeat(SKELETON_REL_M[None], len(keypoints_px), axis=0).astype(np.float32)


class KeypointLifter:
    """A keypoint-only lifter whose lift() has no crops argument at all: passing one would fail."""

    receptive_field = T
    layout_name = "h36m17"
    crop_size = 0

    def lift(self, keypoints_px, confidence, camera):
        return np.repeat(SKELETON_REL_M[None], len(keypoints_px), axis=0).astype(np.float32)


def _person(track_id: int, root_m) -> Person2D:
    keypoints_px = CAMERA.project(SKELETON_REL_M + np.asarray(root_m)).astype(np.float32)
    return Person2D(track_id, keypoints_px, np.full(17, 0.9, np.float32), 0.9, np.zeros(4, np.float32))


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (CAMERA.height, CAMERA.width, 3), dtype=np.uint8)


def test_crops_are_cut_from_the_image_around_each_window():
    lifter = CropLifter()
    stage = LiftStage(lifter)
    for i in range(3):
        rgb = _image(i)
        people = [_person(1, (-0.5 + 0.1 * i, 0.0, 4.0)), _person(2, (0.6, 0.1, 5.0))]
        out, issues = stage.process(i * FRAME_NS, people, CAMERA, rgb=rgb)
        assert issues == [] and [p.track_id for p in out] == [1, 2]
        keypoints_px, confidence, crops = lifter.calls[-1]
        np.testing.assert_array_equal(crops, crop_people(rgb, keypoints_px, confidence, CAMERA.K, CROP))
    assert not np.array_equal(lifter.calls[0][2], lifter.calls[1][2]), "each frame's crops come from its own image"
    np.testing.assert_allclose(out[0].joints_cam_m, SKELETON_REL_M + [-0.3, 0.0, 4.0], atol=1e-4)


def test_without_a_usable_image_nobody_is_lifted_but_the_windows_go_on():
    lifter = CropLifter()
    stage = LiftStage(lifter)
    out, issues = stage.process(0, [_person(1, (0.0, 0.0, 4.0))], CAMERA)
    assert out == [] and [i.kind for i in issues] == ["image_missing"] and lifter.calls == []
    small = np.zeros((120, 160, 3), np.uint8)
    out, issues = stage.process(FRAME_NS, [_person(1, (0.1, 0.0, 4.0))], CAMERA, rgb=small)
    assert out == [] and [i.kind for i in issues] == ["image_size"]
    assert "160x120" in issues[0].message and "320x240" in issues[0].message
    out, issues = stage.process(2 * FRAME_NS, [_person(1, (0.2, 0.0, 4.0))], CAMERA, rgb=_image().astype(np.float32))
    assert out == [] and [i.kind for i in issues] == ["image_format"]
    out, issues = stage.process(3 * FRAME_NS, [_person(1, (0.3, 0.0, 4.0))], CAMERA, rgb=_image())
    assert issues == [] and len(out) == 1
    keypoints_px = lifter.calls[0][0][0]
    expected = [_person(1, (0.1 * i, 0.0, 4.0)).keypoints_px for i in range(4)]
    np.testing.assert_array_equal(keypoints_px[-4:], np.stack(expected))


def test_nobody_in_the_frame_needs_no_image():
    out, issues = LiftStage(CropLifter()).process(0, [], CAMERA)
    assert out == [] and issues == []


def test_keypoint_lifter_ignores_the_image():
    out, issues = LiftStage(KeypointLifter()).process(0, [_person(1, (0.0, 0.0, 4.0))], CAMERA, rgb=None)
    assert issues == [] and len(out) == 1
    out, issues = LiftStage(KeypointLifter()).process(0, [_person(1, (0.0, 0.0, 4.0))], CAMERA,
                                                      rgb=np.zeros((2, 2, 3), np.uint8))
    assert issues == [] and len(out) == 1


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    """A tiny untrained Lifting by Image model (16 px crops), exported as the node loads models; random weights
    everywhere (the output head starts at zero) make its output depend on the image."""
    folder = tmp_path_factory.mktemp("image_model")
    model = build_model("lifting_by_image", {"crop_size": 16, "dim": 16, "heads": 2, "encoder_channels": (4, 8, 8)})
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
    export(save_untrained(model, "lifting_by_image", folder / "checkpoint.pt"), folder / "lifting_by_image.onnx")
    return folder / "lifting_by_image.onnx"


def _image_msg(stamp_s: int, value: int) -> Image:
    msg = Image(height=HEIGHT, width=WIDTH, encoding="rgb8", step=3 * WIDTH)
    msg.header.stamp.sec = stamp_s
    msg.data = np.full((HEIGHT, WIDTH, 3), value, np.uint8).tobytes()
    return msg


def test_node_lifts_each_skeleton_message_with_the_image_of_its_stamp(ros_graph, image_model):
    lifter = ros_graph.add(Lifter, parameter_overrides=[Parameter("model", value=str(image_model)),
                                                        Parameter("backend", value="onnxruntime"),
                                                        Parameter("image_cache_size", value=4)])
    assert lifter.stage is not None and lifter.stage.crop_size == 16, lifter.health.fatal
    sender = ros_graph.add(Sender)
    probe = ros_graph.add(make_probe({"skeletons_3d": (Skeleton3DArray, qos.RESULTS)}))
    got = probe.got["skeletons_3d"]
    wait_for(lambda: sender.images.get_subscription_count() >= 1 and sender.skeletons.get_subscription_count() >= 1
             and probe.count_publishers("skeletons_3d") >= 1, what="the lifter and its image subscription")

    def send_image(stamp_s: int, value: int) -> None:
        sender.images.publish(_image_msg(stamp_s, value))
        wait_for(lambda: lifter._images and lifter._images[-1][0] == stamp_s * 10**9, what=f"image {stamp_s}")

    def joints(msg: Skeleton3DArray) -> np.ndarray:
        return np.array([[p.x, p.y, p.z] for p in msg.skeletons[0].joints])

    send_image(1, 0)
    sender.skeletons.publish(skeletons_msg(1, person_px()))
    wait_for(lambda: len(got) == 1, what="3D for the skeletons with a matching image")
    assert got[0].header.stamp.sec == 1 and len(got[0].skeletons) == 1 and np.isfinite(joints(got[0])).all()

    sender.skeletons.publish(skeletons_msg(2, person_px()))  # no image of stamp 2
    wait_for(lambda: lifter.health.counts["image_dropped"] == 1, what="an 'image_dropped' count")
    assert "stamp 2000000000 ns" in lifter.health.last_message["image_dropped"]

    for stamp_s in range(3, 9):
        send_image(stamp_s, 255 if stamp_s == 3 else 0)
    assert [stamp for stamp, _ in lifter._images] == [s * 10**9 for s in range(5, 9)], "the cache keeps the newest 4"
    sender.skeletons.publish(skeletons_msg(3, person_px()))  # its image has left the cache
    wait_for(lambda: lifter.health.counts["image_dropped"] == 2, what="a second 'image_dropped' count")
    sender.skeletons.publish(skeletons_msg(8, person_px()))
    wait_for(lambda: len(got) == 2, what="3D for stamp 8")
    assert got[1].header.stamp.sec == 8, "frames without their image publish nothing"
    send_image(9, 255)
    sender.skeletons.publish(skeletons_msg(9, person_px()))
    wait_for(lambda: len(got) == 3, what="3D for stamp 9")
    assert np.abs(joints(got[2]) - joints(got[1])).max() > 1e-4, "the same keypoints in another image lift otherwise"
