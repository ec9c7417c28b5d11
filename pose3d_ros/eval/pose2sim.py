"""A real 3D reference from Pose2Sim's Demo_SinglePerson: 4 calibrated 60 fps phone cameras, one person.

MediaPipe BlazePose runs on every full-resolution frame of every view (one tracking detector per view); its
keypoints are undistorted, triangulated per frame and joint (confidence-weighted DLT, see triangulate.py) and
mapped BlazePose-33 -> Human3.6M-17 after triangulation, exactly as the detector's 2D keypoints are mapped, so
the reference's joints are the ones the lifter sees. The videos are not frame-synchronised (Pose2Sim runs
its own synchronisation step on them; here cam03 lags by 4 frames), so integer frame offsets are estimated
first. The result is cached in one .npz keyed by the versions of pose2sim and mediapipe.

    python -m pose3d_ros.eval.pose2sim        # triangulation quality and the MediaPipe baseline table
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pose3d_ros.eval.triangulate import MIN_CONFIDENCE, estimate_frame_offsets, shift_frames, triangulate_robust
from pose3d_ros.floor import Floor
from pose3d_ros.layouts import BLAZEPOSE33, H36M17, convert

CACHE_NAME = "pose2sim_reference.npz"
# Bump when what the cache holds, or how it is computed, changes.
CACHE_FORMAT = 7
# Reference points further than this from their running median over 5 frames (1/12 s) are dropped as spikes.
GLITCH_M = 0.1
GLITCH_WINDOW = 5
# Qualisys stores focal length, principal point and distortion in sub-pixel units of 1/64 pixel.
_QUALISYS_SUBPIXELS = 64.0
# Qualisys cameras look down their -z axis with y up; OpenCV's optical frame looks down +z with y down.
_QUALISYS_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Camera:
    """One calibrated view. K: (3, 3) pinhole intrinsics in pixels; distortion: (5,) OpenCV k1, k2, p1, p2, k3;
    R: (3, 3), t: (3,) world->camera in metres (x_cam = R @ x_world + t, optical frame: x right, y down,
    z forward); width, height: image size in pixels the calibration describes."""

    name: str
    K: np.ndarray
    distortion: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    def undistort(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) pixels of the distorted video -> (N, 2) pixels of the distortion-free pinhole camera K."""
        points = np.asarray(points_px, np.float64).reshape(-1, 1, 2)
        return cv2.undistortPoints(points, self.K, self.distortion, P=self.K).reshape(-1, 2)


def parse_qualisys(text: str) -> list[Camera]:
    """Cameras of a Qualisys ``.qca.txt`` calibration (XML), in file order.

    Conventions (as Pose2Sim's calibration.read_qca/calib_qca_fun convert them): ``transform`` is the camera's
    pose in the world: centre (x, y, z) in millimetres and a rotation written r11 r12 r13 r21 ... whose matrix
    M maps world axes to the Qualisys camera frame (x right, y up, looking down -z), so the OpenCV
    world->camera rotation is diag(1, -1, -1) @ M and t = -R @ centre. Intrinsics are in 1/64 pixel units
    and relative to the sensor, so the principal point is shifted by the video window's top-left corner.
    Pose2Sim divides the distortion coefficients by 64 too, and so does this parser (on the demo, raw, /64
    and no distortion at all change the triangulation's reprojection error by < 0.1 px); skew is ignored,
    as Pose2Sim does. The demo's file gives every camera a 1088x1920 window while cam01 and cam02 record
    1080x1920; the principal points are used as given.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"Qualisys calibration is not valid XML: {exc}") from exc
    cameras = []
    for tag in root.findall("cameras/camera"):
        name = tag.get("serial", f"camera{len(cameras)}")
        fov, transform, intrinsic = tag.find("fov_video"), tag.find("transform"), tag.find("intrinsic")
        if fov is None or transform is None or intrinsic is None:
            raise ValueError(f"Qualisys camera '{name}' lacks fov_video, transform or intrinsic; cannot use it")
        left, top = float(fov.get("left")), float(fov.get("top"))
        width = int(round(float(fov.get("right")) - left + 1))
        height = int(round(float(fov.get("bottom")) - top + 1))
        num = {key: float(value) / _QUALISYS_SUBPIXELS for key, value in intrinsic.attrib.items() if key != "model"}
        K = np.array([
            [num["focalLengthU"], 0.0, num["centerPointU"] - left],
            [0.0, num["focalLengthV"], num["centerPointV"] - top],
            [0.0, 0.0, 1.0],
        ])
        distortion = np.array([num.get(key, 0.0) for key in (
            "radialDistortion1", "radialDistortion2", "tangentalDistortion1", "tangentalDistortion2",
            "radialDistortion3")])
        M = np.array([[float(transform.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre_m = np.array([float(transform.get(axis)) for axis in "xyz"]) / 1000.0
        R = _QUALISYS_TO_OPTICAL @ M
        cameras.append(Camera(name, K, distortion, R, -R @ centre_m, width, height))
    if not cameras:
        raise ValueError("Qualisys calibration has no cameras/camera elements")
    return cameras


@dataclass(frozen=True)
class Views:
    """V calibrated views of one recording. names: V camera names; K: (V, 3, 3) pinhole intrinsics of the
    undistorted keypoints; R: (V, 3, 3), t: (V, 3) world->camera in metres, world z up, z = 0 the ground plane;
    image_size: (V, 2) width, height of each video; fps: frame rate."""

    names: tuple[str, ...]
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    image_size: np.ndarray
    fps: float

    def floor(self, view: int) -> Floor:
        """The world's z = 0 plane (z up), the floor of the calibration, in view ``view``'s optical frame."""
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = self.R[view].T, -self.R[view].T @ self.t[view]
        return Floor.from_camera_pose(pose)


@dataclass(frozen=True)
class Pose2SimReference(Views):
    """The triangulated reference and the per-view MediaPipe outputs, V views x F frames, H36M-17 joints.

    Per-view arrays are indexed by each view's own frame number (stamp = frame / fps), so a single-view
    method run on view v's video compares with ``reference_cam_m[v]`` frame by frame. The views are offset
    in time: view v's frame i + frame_offset[v] is simultaneous with view 0's frame i, and
    ``reference_world_m`` follows view 0's frames.

    The views' fields (Views), then: keypoints_px: (V, F, 17, 2) undistorted MediaPipe keypoints (NaN where no
    person was found); confidence: (V, F, 17) (0 where none); mediapipe_world_m: (V, F, 17, 3) MediaPipe's
    hip-centred metric 3D, camera-axis aligned; reference_world_m: (F, 17, 3), NaN where not triangulable;
    reference_cam_m: (V, F, 17, 3) the reference in each camera's optical frame. reprojection_px: (V, F, 17)
    distance between the reference's projection and keypoints_px where confidence >= 0.5, else NaN;
    inlier: (V, F, 17) bool, the view's keypoints (all BlazePose joints making the H36M joint) went into the
    triangulation, i.e. were confident and not dropped as outliers. frame_offset: (V,) int. detect_seconds: time
    MediaPipe took on all views when the cache was built.
    """

    keypoints_px: np.ndarray
    confidence: np.ndarray
    mediapipe_world_m: np.ndarray
    reference_world_m: np.ndarray
    reference_cam_m: np.ndarray
    reprojection_px: np.ndarray
    inlier: np.ndarray
    frame_offset: np.ndarray
    detect_seconds: float
    pose2sim_version: str


def demo_folder() -> Path:
    """Demo_SinglePerson inside the installed pose2sim package."""
    spec = importlib.util.find_spec("Pose2Sim")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "package pose2sim is not installed; pip install --no-deps pose2sim==0.10.49 (it carries the demo videos)")
    return Path(spec.origin).parent / "Demo_SinglePerson"


def _detect_view(video: Path, camera: Camera, desc: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """MediaPipe on every full-resolution frame of one video, tracking mode, stamps = frame index / fps.

    Returns BlazePose-33 undistorted keypoints_px (F, 33, 2) (NaN where none), confidence (F, 33),
    world_m (F, 33, 3) and the video's fps.
    """
    from tqdm import tqdm

    from pose3d_ros.detect import make_detector

    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    detector = make_detector("mediapipe_legacy")
    keypoints, confidence, world = [], [], []
    try:
        for index in tqdm(range(frames), desc=desc, unit="frame"):
            ok, bgr = capture.read()
            if not ok:
                raise RuntimeError(f"{video} ended at frame {index} of the {frames} it announces")
            people = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), int(round(index * 1e9 / fps)))
            if people:
                keypoints.append(people[0].keypoints_px)
                confidence.append(people[0].confidence)
                world.append(people[0].world_m)
            else:
                keypoints.append(np.full((33, 2), np.nan, np.float32))
                confidence.append(np.zeros(33, np.float32))
                world.append(np.full((33, 3), np.nan, np.float32))
    finally:
        detector.close()
        capture.release()
    keypoints_px = np.stack(keypoints).astype(np.float64)
    found = np.isfinite(keypoints_px).all(axis=-1)
    keypoints_px[found] = camera.undistort(keypoints_px[found])
    return keypoints_px, np.stack(confidence).astype(np.float64), np.stack(world).astype(np.float64), fps


def view_frames(name: str, folder: Path | None = None) -> Iterator[np.ndarray]:
    """Camera ``name``'s video as the reference's keypoints see it, frame by frame: (H, W, 3) uint8 RGB,
    undistorted onto the same pinhole K as the keypoints (cv2.undistortPoints with P=K in _detect_view), so
    that frame i is the image of ``keypoints_px[view][i]`` (per-view arrays follow each view's own frames)."""
    folder = folder or demo_folder()
    cameras = {c.name: c for c in parse_qualisys((folder / "calibration" / "Calib.qca.txt").read_text())}
    if name not in cameras:
        raise ValueError(f"camera '{name}' not in the calibration; expected one of {', '.join(cameras)}")
    camera = cameras[name]
    video = folder / "videos" / f"{name}.mp4"
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    maps = None
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                return
            if maps is None:  # one remap table for the whole video: cv2.undistort would rebuild it every frame
                size = (bgr.shape[1], bgr.shape[0])
                maps = cv2.initUndistortRectifyMap(camera.K, camera.distortion, None, camera.K, size, cv2.CV_16SC2)
            yield cv2.cvtColor(cv2.remap(bgr, *maps, cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def _to_h36m(points: np.ndarray) -> np.ndarray:
    """(..., 33, D) BlazePose points -> (..., 17, D) H36M; NaN where a BlazePose joint it is made of is NaN."""
    return convert(points, np.ones(points.shape[:-1]), BLAZEPOSE33, H36M17)[0]


def glitches(points_m: np.ndarray) -> np.ndarray:
    """(F, J) True where a (F, J, 3) trajectory point lies more than GLITCH_M from the median of its own
    trajectory over GLITCH_WINDOW frames: a spike, which a running median ignores while it follows any
    monotone motion, however fast. Such spikes come from wrong detections that happen to agree across views."""
    half = GLITCH_WINDOW // 2
    padded = np.pad(points_m, ((half, half), (0, 0), (0, 0)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, GLITCH_WINDOW, axis=0)  # (F, J, 3, W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        median = np.nanmedian(windows, axis=-1)
    return np.linalg.norm(points_m - median, axis=-1) > GLITCH_M


def build_reference(folder: Path | None = None) -> Pose2SimReference:
    """Detect, undistort, synchronise, triangulate and map to H36M-17 (see the module docstring); the demo
    takes ~15 s on 2 cores, nearly all of it MediaPipe on 4 x 100 frames of 1080x1920."""
    folder = folder or demo_folder()
    cameras = parse_qualisys((folder / "calibration" / "Calib.qca.txt").read_text())
    videos = [folder / "videos" / f"{camera.name}.mp4" for camera in cameras]
    start = time.perf_counter()
    detections = [_detect_view(video, camera, camera.name) for video, camera in zip(videos, cameras)]
    detect_seconds = time.perf_counter() - start
    fps = {round(d[3], 3) for d in detections}
    if len(fps) != 1 or len({len(d[0]) for d in detections}) != 1:
        raise ValueError(f"views disagree on fps {fps} or frame count; expected videos of one rate and length")
    keypoints33 = np.stack([d[0] for d in detections])  # (V, F, 33, 2)
    confidence33 = np.stack([d[1] for d in detections])
    world33 = np.stack([d[2] for d in detections])
    K = np.stack([c.K for c in cameras])
    R = np.stack([c.R for c in cameras])
    t = np.stack([c.t for c in cameras])
    V, F = confidence33.shape[:2]

    # The demo's phones were not started together (Pose2Sim runs a synchronisation step on it): find the offsets.
    frame_offset = estimate_frame_offsets(keypoints33, confidence33, K, R, t)
    synced_px = shift_frames(keypoints33, frame_offset).reshape(V, F * 33, 2)
    synced_confidence = shift_frames(confidence33, frame_offset, fill=0.0).reshape(V, F * 33)
    points33, used33 = triangulate_robust(synced_px, synced_confidence, K, R, t)
    glitch = glitches(points33.reshape(F, 33, 3)).reshape(-1)
    points33[glitch], used33[:, glitch] = np.nan, False
    reference_world_m = _to_h36m(points33.reshape(F, 33, 3))
    keypoints_px, confidence = convert(keypoints33, confidence33, BLAZEPOSE33, H36M17)
    mediapipe_world_m = _to_h36m(world33)
    # Back to each view's own frame index: view v's frame i shows reference frame i - frame_offset[v].
    reference_cam_m = shift_frames(np.einsum("vij,fkj->vfki", R, reference_world_m) + t[:, None, None, :],
                                   -frame_offset)
    projected = np.einsum("vij,vfkj->vfki", K, reference_cam_m)
    reprojection = np.linalg.norm(projected[..., :2] / projected[..., 2:3] - keypoints_px, axis=-1)
    reprojection_px = np.where(confidence >= MIN_CONFIDENCE, reprojection, np.nan)
    _, inlier = convert(np.zeros((V, F, 33, 1)), used33.reshape(V, F, 33).astype(np.float64), BLAZEPOSE33, H36M17)
    inlier = shift_frames(inlier, -frame_offset, fill=0.0) > 0.5
    image_size = []
    for video in videos:
        capture = cv2.VideoCapture(str(video))
        image_size.append((int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))))
        capture.release()
    return Pose2SimReference(
        names=tuple(c.name for c in cameras), K=K, R=R, t=t, image_size=np.array(image_size), fps=fps.pop(),
        keypoints_px=keypoints_px, confidence=confidence, mediapipe_world_m=mediapipe_world_m,
        reference_world_m=reference_world_m, reference_cam_m=reference_cam_m, reprojection_px=reprojection_px,
        inlier=inlier, frame_offset=frame_offset, detect_seconds=detect_seconds,
        pose2sim_version=importlib.metadata.version("pose2sim"),
    )


def _cache_key() -> dict[str, str]:
    """What the cached numbers depend on; a cache made under other values is rebuilt."""
    return {
        "key_pose2sim": importlib.metadata.version("pose2sim"),
        "key_mediapipe": importlib.metadata.version("mediapipe"),
        "key_format": str(CACHE_FORMAT),
    }


def load_reference(cache_dir: Path = Path("runs/cache")) -> Pose2SimReference:
    """The reference from ``cache_dir/pose2sim_reference.npz``, built first (~15 s on 2 cores)
    when it is missing or was made by other pose2sim/mediapipe versions or another cache format."""
    path = Path(cache_dir) / CACHE_NAME
    key = _cache_key()
    if path.exists():
        with np.load(path) as data:
            if all(k in data.files and str(data[k]) == v for k, v in key.items()):
                fields = {name: data[name] for name in Pose2SimReference.__dataclass_fields__}
                fields["names"] = tuple(str(n) for n in fields["names"])
                for name in ("fps", "detect_seconds"):
                    fields[name] = float(fields[name])
                fields["pose2sim_version"] = str(fields["pose2sim_version"])
                return Pose2SimReference(**fields)
    reference = build_reference()
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: np.asarray(getattr(reference, name)) for name in Pose2SimReference.__dataclass_fields__}
    np.savez_compressed(path, **arrays, **{k: np.array(v) for k, v in key.items()})
    return reference


def triangulation_table(reference: Pose2SimReference) -> str:
    """Markdown table of the reference's reprojection error per view (H36M-17 joints, px): over the views
    that went into each joint (inliers), and over every confident keypoint, outliers included."""
    lines = ["| view | image | frame offset | inlier mean px | inlier median px | confident median px | "
             "confident p95 px | confident dropped |",
             "|---|---|---|---|---|---|---|---|"]
    for v, name in enumerate(reference.names):
        error = reference.reprojection_px[v]
        confident = np.isfinite(error)
        inlier = error[reference.inlier[v] & confident]
        width, height = reference.image_size[v]
        lines.append(
            f"| {name} | {width}x{height} | {reference.frame_offset[v]:+d} | {inlier.mean():.1f} | "
            f"{np.median(inlier):.1f} | {np.median(error[confident]):.1f} | "
            f"{np.percentile(error[confident], 95):.1f} | {1 - inlier.size / confident.sum():.1%} |")
    joints = reference.reference_world_m
    valid = np.isfinite(joints).all(axis=-1)
    accel = np.linalg.norm(np.diff(joints - joints[:, :1], n=2, axis=0), axis=-1) * 1000.0
    accel = accel[np.isfinite(accel)]
    bone_std = [np.nanstd(np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)) * 1000.0 for a, b in H36M17.bones]
    lines += [
        "",
        f"Triangulated (frame, joint): {valid.mean():.1%} of {valid.size} ({len(joints)} frames at "
        f"{reference.fps:g} fps); MediaPipe on all views took {reference.detect_seconds:.0f} s at full resolution.",
        f"The reference's own root-relative acceleration, |a_ref|: mean {accel.mean():.1f}, median "
        f"{np.median(accel):.1f} mm/frame^2 (true motion plus triangulation jitter, which every accel error "
        "below also carries).",
        f"Bone lengths over time (rigid in truth): std median {np.median(bone_std):.1f} mm, worst "
        f"{max(bone_std):.1f} mm ({len(bone_std)} H36M bones).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from pose3d_ros.eval.baseline import baseline_table, evaluate_mediapipe, plot_errors

    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.pose2sim", description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="cache folder (default: runs/cache)")
    parser.add_argument("--out", type=Path, default=Path("runs/eval"), help="plot folder (default: runs/eval)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    reference = load_reference(args.cache)
    print(f"Pose2Sim Demo_SinglePerson (pose2sim {reference.pose2sim_version}), loaded in "
          f"{time.perf_counter() - start:.2f} s\n")
    print(triangulation_table(reference))
    errors = evaluate_mediapipe(reference)
    print("\nMediaPipe world landmarks against the reference, per camera (H36M-17, mm):\n")
    print(baseline_table(reference, errors))
    for path in plot_errors(reference, errors, args.out):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
