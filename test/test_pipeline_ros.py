"""The whole graph over real DDS: a real video's frames come out as 3D skeletons with their stamps and frames."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from conftest import make_probe, wait_for, wait_quiet
from pose3d_ros.human_model import HumanModel
from pose3d_ros.layouts import H36M17
from pose3d_ros.msg import Skeleton2DArray, Skeleton3DArray
from pose3d_ros.ros import share_dir
from pose3d_ros.ros.detector_node import KeypointDetector
from pose3d_ros.ros.lifter_node import Lifter
from pose3d_ros.ros.video_source_node import VideoSource

FRAMES = 60
# Deep histories: the probe must not drop samples while its executor is busy.
PROBE_SENSOR = QoSProfile(depth=500, reliability=ReliabilityPolicy.BEST_EFFORT)
PROBE_RESULTS = QoSProfile(depth=500, reliability=ReliabilityPolicy.RELIABLE)
# camera_info shares each image's header and, small, is not lost on the way as a best-effort image can be.
OUTPUTS = {
    "camera_info": (CameraInfo, PROBE_SENSOR),
    "skeletons_2d": (Skeleton2DArray, PROBE_RESULTS),
    "skeletons_3d": (Skeleton3DArray, PROBE_RESULTS),
    "/tf": (TFMessage, PROBE_RESULTS),
    "skeleton_markers": (MarkerArray, PROBE_RESULTS),
}


def _stamp(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def _check_outputs(got: dict[str, list], frame_id: str = "camera_optical_frame") -> None:
    image_stamps = {_stamp(m) for m in got["camera_info"]}
    arrays = got["skeletons_3d"]
    assert len(arrays) >= FRAMES // 3, f"only {len(arrays)} 3D messages for {FRAMES} frames"
    assert {_stamp(m) for m in arrays} <= image_stamps, "a 3D message carries a stamp no image had"
    assert {_stamp(m) for m in got["skeletons_2d"]} <= image_stamps
    assert {m.header.frame_id for m in arrays} == {frame_id}
    people = [s for m in arrays for s in m.skeletons]
    assert len(people) >= FRAMES // 3
    for s in people:
        joints = np.array([[p.x, p.y, p.z] for p in s.joints])
        assert s.layout == H36M17.name and joints.shape == (17, 3) and np.isfinite(joints).all()
        assert joints[:, 2].min() > 0.3, "joints must lie in front of the camera"
        assert np.allclose([s.body.position.x, s.body.position.y, s.body.position.z], joints[0])
        span = np.ptp(joints, axis=0).max()
        assert 0.5 < span < 2.5, f"a person spans {span:.2f} m; expected a human size"
    transforms = [t for m in got["/tf"] for t in m.transforms]
    parents = {t.child_frame_id: t.header.frame_id for t in transforms}
    body_ids = {s.body_id for s in people}
    assert all(len(body_id) == 5 for body_id in body_ids), f"body ids {body_ids}"
    for body_id in body_ids:  # REP-155: body_<id> in the camera frame, the human model's links below it
        assert parents[f"body_{body_id}"] == frame_id
        for joint in HumanModel().joints:
            assert parents[f"{joint.child}_{body_id}"] == f"{joint.parent}_{body_id}"
    assert {_stamp(t) for t in transforms} <= image_stamps
    markers = [mk for m in got["skeleton_markers"] for mk in m.markers]
    assert {mk.header.frame_id for mk in markers} == {frame_id}


def _play(ros_graph, *overrides: Parameter) -> tuple[dict[str, list], Lifter]:
    """The graph in one process on FRAMES frames of the demo video: what the probe got (checked), and the lifter."""
    source = ros_graph.add(VideoSource, parameter_overrides=[Parameter("max_frames", value=FRAMES),
                                                              Parameter("horizontal_fov_deg", value=60.0), *overrides])
    detector = ros_graph.add(KeypointDetector)
    lifter = ros_graph.add(Lifter)
    probe = ros_graph.add(make_probe(OUTPUTS))
    assert lifter.stage is not None and detector.stage is not None
    wait_for(lambda: source.image_pub.get_subscription_count() >= 1 and lifter.skeletons_pub.get_subscription_count()
             >= 1 and detector.skeletons_pub.get_subscription_count() >= 2, what="discovery")
    source.start()
    wait_for(source.finished.is_set, 60, "the video to finish")
    wait_quiet(lambda: len(probe.got["skeletons_3d"]), what="the last frames to be lifted")
    _check_outputs(probe.got)
    return probe.got, lifter


def test_video_becomes_3d_skeletons_in_one_process(ros_graph):
    _, lifter = _play(ros_graph)
    assert lifter.health.counts == {}, f"clean input yet problems counted: {dict(lifter.health.counts)}"


def test_two_people_come_out_as_two_stable_tracks_with_tf_frames(ros_graph):
    """Frames 80-139 of the demo video show the man on the box and the walker below him, both all along."""
    got, _ = _play(ros_graph, Parameter("start_frame", value=80))
    arrays = got["skeletons_3d"]
    per_frame = [sorted(s.track_id for s in m.skeletons) for m in arrays]
    assert sum(len(ids) == 2 for ids in per_frame) >= 0.9 * len(arrays), f"people per frame: {per_frame}"
    ids = {i for frame in per_frame for i in frame}
    assert len(ids) == 2, f"track ids {sorted(ids)}; expected the same two all along"
    for m in arrays:
        pelvis = [np.array([s.body.position.x, s.body.position.y, s.body.position.z]) for s in m.skeletons]
        assert len(pelvis) < 2 or np.linalg.norm(pelvis[0] - pelvis[1]) > 0.5, "two skeletons on one person"
    body_ids = {s.body_id for m in arrays for s in m.skeletons}
    assert len(body_ids) == 2, f"body ids {sorted(body_ids)}; expected one per track"
    bodies = {t.child_frame_id for m in got["/tf"] for t in m.transforms if t.child_frame_id.startswith("body_")}
    assert bodies == {f"body_{i}" for i in body_ids}


def test_the_video_waits_for_the_graph_it_feeds(ros_graph):
    """Until the lifter is up (it subscribes camera_info once its model is loaded), no frame is played to nobody."""
    source = ros_graph.add(VideoSource, parameter_overrides=[Parameter("max_frames", value=3),
                                                              Parameter("min_camera_info_subscribers", value=1)])
    ros_graph.add(make_probe({"image_raw": (Image, PROBE_SENSOR)}))
    wait_for(lambda: source.image_pub.get_subscription_count() >= 1, what="the image subscriber")
    source.start()
    time.sleep(1.5)
    assert source.frames_published == 0, "played before anyone took camera_info"
    probe = ros_graph.add(make_probe({"camera_info": (CameraInfo, PROBE_SENSOR)}))
    wait_for(source.finished.is_set, 30, "the video to play once camera_info has its subscriber")
    assert source.frames_published == 3
    wait_for(lambda: len(probe.got["camera_info"]) >= 1, what="camera_info at the probe")


def test_separate_processes_with_the_launch_parameters(ros_graph, tmp_path):
    """The installed executables, each its own process, configured by the parameter file lift.launch.py uses."""
    # Subscribed to images too, so that the source waits until the probe has discovered it (min_subscribers).
    probe = ros_graph.add(make_probe({**OUTPUTS, "image_raw": (Image, PROBE_SENSOR)}))
    bin_dir = Path(sys.prefix) / "lib" / "pose3d_ros"
    params = share_dir() / "config" / "pose3d_ros.yaml"
    env = dict(os.environ, PYTHONPATH="")  # the installed package, as `ros2 launch` would run it
    procs = [subprocess.Popen([sys.executable, str(bin_dir / name), "--ros-args", "--params-file", str(params),
                               *extra], env=env, stdout=open(tmp_path / f"{name}.log", "w"), stderr=subprocess.STDOUT)
             for name, extra in (("lifter", []), ("keypoint_detector", []))]
    try:
        wait_for(lambda: probe.count_publishers("skeletons_3d") >= 1 and probe.count_subscribers("image_raw") >= 2,
                 30, "the detector and lifter processes")
        source = subprocess.run(
            [sys.executable, str(bin_dir / "video_source"), "--ros-args", "--params-file", str(params),
             "-p", f"max_frames:={FRAMES}", "-p", "min_subscribers:=2"],
            env=env, capture_output=True, text=True, timeout=120)
        assert source.returncode == 0, source.stderr[-2000:]
        wait_quiet(lambda: len(probe.got["skeletons_3d"]), what="3D skeletons from the processes")
        _check_outputs(probe.got)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=10)
    for name in ("lifter", "keypoint_detector"):
        assert "Traceback" not in (tmp_path / f"{name}.log").read_text(), (tmp_path / f"{name}.log").read_text()


def test_a_run_with_detector_and_lifter_in_processes_of_their_own_reports_their_timings(tmp_path):
    """The benchmark's launch layout (session.run_pipeline, layout "processes"): every frame is lifted, and the
    spawned nodes send back their per-frame timings."""
    from pose3d_ros.ros.session import run_pipeline

    summary = run_pipeline(tmp_path, source={"max_frames": 20, "width": 640, "height": 480, "preload": True},
                           render=False, total_frames=20, layout="processes")
    assert summary.frames_in == 20 and summary.messages_3d >= 10, summary
    assert len(summary.detector_ms) == summary.frames_detected > 0
    assert len(summary.latency_ms) >= summary.messages_3d and summary.person_detector_runs > 0
    assert 0 < summary.detector_ms_p50 < summary.latency_ms_p50, "the detector alone takes part of the latency"
    assert (tmp_path / "bag").is_dir()


def test_the_demo_command_writes_its_bag_overlay_and_summary(tmp_path):
    """`pose3d-ros demo` (the README's first command) on the first frames of the demo video."""
    import argparse
    import json

    from pose3d_ros.commands import demo

    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    assert demo.run(parser.parse_args(["--out", str(tmp_path), "--max-frames", "15"])) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_in"] == 15 and summary["messages_3d"] >= 10 and summary["skeletons_3d"] > 0, summary
    for written in ("bag", "overlay.mp4", "contact_sheet.png"):
        assert (tmp_path / written).exists(), written


def test_nodes_end_when_the_process_that_started_them_is_killed(tmp_path):
    """`ros2 launch` killed by SIGTERM leaves its nodes to themselves (ros2/launch#545): they must end anyway."""
    bin_dir = Path(sys.prefix) / "lib" / "pose3d_ros"
    pid_file = tmp_path / "lifter.pid"
    start = f"{sys.executable} {bin_dir / 'lifter'} > {tmp_path / 'lifter.log'} 2>&1 & echo $! > {pid_file}; wait"
    parent = subprocess.Popen(["bash", "-c", start], env=dict(os.environ, PYTHONPATH=""))
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "", what="the lifter to start")
    lifter = int(pid_file.read_text())
    wait_for(lambda: "lifting with" in (tmp_path / "lifter.log").read_text(), 30, "the lifter to be up")
    parent.kill()
    parent.wait(timeout=10)

    def ended() -> bool:
        try:
            os.kill(lifter, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{lifter}/status").read_text().find("State:\tZ") >= 0  # a zombie has ended

    wait_for(ended, 15, "the orphaned lifter to end")
    assert "Traceback" not in (tmp_path / "lifter.log").read_text()


def _node_process(name: str, params: Path, log: Path) -> subprocess.Popen:
    """The installed executable ``name`` as its own process with the launch's parameter file."""
    executable = Path(sys.prefix) / "lib" / "pose3d_ros" / name
    return subprocess.Popen([sys.executable, str(executable), "--ros-args", "--params-file", str(params)],
                            env=dict(os.environ, PYTHONPATH=""), stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _first_new(messages: list, after: int, timeout_s: float, what: str) -> float:
    """time.monotonic() when ``messages`` first holds more than ``after`` items (polled every 10 ms)."""
    wait_for(lambda: len(messages) > after, timeout_s, what)
    return time.monotonic()


def test_either_node_killed_and_restarted_mid_stream_output_resumes_within_2_s(ros_graph, tmp_path):
    """SIGKILL the detector, then the lifter, under a looping video: the other keeps running, and 3D output
    comes back within 2 s of the restarted node's first message (the detector's 2D; the lifter's anything)."""
    params = share_dir() / "config" / "pose3d_ros.yaml"
    source = ros_graph.add(VideoSource, parameter_overrides=[Parameter("loop", value=True),
                                                              Parameter("min_camera_info_subscribers", value=0)])
    probe = ros_graph.add(make_probe({"skeletons_2d": (Skeleton2DArray, PROBE_RESULTS),
                                      "skeletons_3d": (Skeleton3DArray, PROBE_RESULTS),
                                      "/diagnostics": (DiagnosticArray, PROBE_RESULTS)}))
    got = probe.got
    nodes = {name: _node_process(name, params, tmp_path / f"{name}.log") for name in ("lifter", "keypoint_detector")}
    try:
        wait_for(lambda: probe.count_publishers("skeletons_3d") >= 1 and source.image_pub.get_subscription_count()
                 >= 1, 60, "the detector and lifter processes")
        source.start()
        _first_new(got["skeletons_3d"], 0, 30, "3D output")
        nodes["keypoint_detector"].kill()
        nodes["keypoint_detector"].wait(timeout=10)
        time.sleep(1.0)
        assert nodes["lifter"].poll() is None, "the lifter died with the detector"
        count_2d, count_3d = len(got["skeletons_2d"]), len(got["skeletons_3d"])
        nodes["keypoint_detector"] = _node_process("keypoint_detector", params, tmp_path / "detector2.log")
        first_2d = _first_new(got["skeletons_2d"], count_2d, 60, "2D from the restarted detector")
        detector_resumed_s = _first_new(got["skeletons_3d"], count_3d, 10, "3D after the restart") - first_2d
        assert detector_resumed_s <= 2.0

        nodes["lifter"].kill()
        nodes["lifter"].wait(timeout=10)
        count_2d, count_3d = len(got["skeletons_2d"]), len(got["skeletons_3d"])
        time.sleep(1.0)
        assert len(got["skeletons_2d"]) > count_2d, "the detector stopped with the lifter"
        count_3d = len(got["skeletons_3d"])
        nodes["lifter"] = _node_process("lifter", params, tmp_path / "lifter2.log")
        count_diag = len(got["/diagnostics"])

        def lifter_spoke() -> bool:  # its first message of any kind: diagnostics (1 Hz) or 3D
            return len(got["skeletons_3d"]) > count_3d or any(
                st.name.endswith("lifter") for m in got["/diagnostics"][count_diag:] for st in m.status)

        wait_for(lifter_spoke, 60, "the restarted lifter's first message")
        up = time.monotonic()
        lifter_resumed_s = _first_new(got["skeletons_3d"], count_3d, 10, "3D from the restarted lifter") - up
        print(f"\n3D output resumed {detector_resumed_s:.2f} s after the restarted detector's first 2D message, "
              f"{lifter_resumed_s:.2f} s after the restarted lifter's first message")
        assert lifter_resumed_s <= 2.0
        latest = got["skeletons_3d"][-1]
        for skeleton in latest.skeletons:
            assert np.isfinite([[p.x, p.y, p.z] for p in skeleton.joints]).all()
    finally:
        for process in nodes.values():
            process.send_signal(signal.SIGINT)
        for process in nodes.values():
            process.wait(timeout=15)
    for log in tmp_path.glob("*.log"):
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_composed_pipeline_stops_cleanly_on_a_signal_while_busy(ros_graph, tmp_path, stop):
    """The one-process graph (with its video source, looping) ends on Ctrl-C or a service manager's SIGTERM
    mid-stream: exit code 0, no traceback, nothing left running."""
    probe = ros_graph.add(make_probe({"skeletons_3d": (Skeleton3DArray, PROBE_RESULTS)}))
    log = tmp_path / "pipeline.log"
    process = subprocess.Popen(
        [sys.executable, str(Path(sys.prefix) / "lib" / "pose3d_ros" / "pipeline"), "--video-source", "--ros-args",
         "--params-file", str(share_dir() / "config" / "pose3d_ros.yaml"), "-p", "loop:=true"],
        env=dict(os.environ, PYTHONPATH=""), stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        _first_new(probe.got["skeletons_3d"], 0, 60, "3D output of the composed pipeline")
        process.send_signal(stop)
        assert process.wait(timeout=15) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            process.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
