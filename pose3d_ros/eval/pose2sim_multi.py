"""Multi-person evaluation on Pose2Sim's Demo_MultiPerson: 4 calibrated 60 fps portrait phone views of two people.

    per view:    KeypointStage(BlazePose, Tracker) on every full-resolution frame -> tracked H36M-17 people,
                 keypoints undistorted as in pose2sim.py
    per frame:   people associated across views (association.py: at most one detection per view, scored by
                 the torso's triangulation reprojection error, greedy best first) -> robust DLT of each
    over frames: reference people linked into identities by 3D pelvis proximity; spikes dropped (pose2sim.glitches)
    per view and identity: 2D detection rate, the tracker's id switches and duplicates; every view's tracks lifted
                 as the lifter node lifts them, scored (P1, P2, root) in that camera's frame

The phones were not started together. People are first associated with no offsets under a looser gate; the
frame offsets are estimated on those associated people's moving keypoints (estimate_frame_offsets on every pair
of views, each view synchronised through its best pair: frame_offsets), and the association is redone on the
synchronised frames. Identities are named by where they are: A is the one nearest the middle of the cameras
(on the demo, the shirtless man in a blue cap moving on the mat), B the next (the woman in a white T-shirt
standing beside it). Detections and reference are cached in one .npz.

    python -m pose3d_ros.eval.pose2sim_multi      # the table
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import time
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from pose3d_ros.eval.association import (
    MAX_ASSOCIATION_ERROR,
    TORSO,
    associate,
    frame_offsets,
    link_identities,
)
from pose3d_ros.eval.baseline import evaluate_view
from pose3d_ros.eval.metrics import root_error_mm
from pose3d_ros.eval.pose2sim import Camera, Views, demo_folder, glitches, parse_qualisys, view_frames
from pose3d_ros.eval.triangulate import (
    MIN_CONFIDENCE,
    reprojection_error_px,
    shift_frames,
    triangulate_robust,
)
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift import LifterRuntime

CACHE_NAME = "pose2sim_multi_reference.npz"
# Bump when what the cache holds, or how it is computed, changes.
CACHE_FORMAT = 1
PELVIS = H36M17.index["pelvis"]
# Before synchronisation a few frames' lag moves a torso by up to a few tenths of its height: the first pass
# accepts that much.
MAX_UNSYNCED_ERROR = 0.3
# An identity triangulated in fewer frames than this (1/6 s at 60 fps) is a wrong association and is dropped.
MIN_FRAMES = 10
# A detection is a person's when its keypoints lie on average within this share of the person's projected height.
MATCH_FRACTION = 0.1
_REJECTED = 1e6  # assignment cost of a pair that must not match


@dataclass(frozen=True)
class Detections:
    """N tracked people found in V videos, in frame order per view.

    view, frame, track_id: (N,) int: the view, the view's own frame index, that view's tracker id;
    keypoints_px: (N, 17, 2) H36M-17, undistorted onto the view's pinhole K; confidence: (N, 17) in [0, 1];
    score: (N,) person score; bbox_px: (N, 4) x_min, y_min, x_max, y_max in the raw (distorted) image.
    """

    view: np.ndarray
    frame: np.ndarray
    track_id: np.ndarray
    keypoints_px: np.ndarray
    confidence: np.ndarray
    score: np.ndarray
    bbox_px: np.ndarray

    def at(self, view: int, frame: int) -> np.ndarray:
        """Indices (D,) of view ``view``'s detections in its frame ``frame``."""
        return np.flatnonzero((self.view == view) & (self.frame == frame))


@dataclass(frozen=True)
class MultiPersonReference(Views):
    """The views' detections and the triangulated reference of P identities over F frames (view 0's frames).

    The views' fields (Views), then: frame_offset (V,): view v's frame f + frame_offset[v] is simultaneous with
    reference frame f. reference_world_m: (P, F, 17, 3) metres, NaN where not triangulated or dropped as a spike;
    member: (P, F, V) the detection (index into ``detections``) each view gave the identity's triangulation, -1
    where none. Identities are ordered by how often they were seen (frames x views), most first. detect_seconds: the
    detector's time on all views when the cache was built.
    """

    frame_offset: np.ndarray
    detections: Detections
    reference_world_m: np.ndarray
    member: np.ndarray
    detect_seconds: float
    pose2sim_version: str

    def reference_cam_m(self, view: int) -> np.ndarray:
        """(P, F, 17, 3) the reference in camera ``view``'s optical frame, indexed by that view's own frames."""
        cam = np.einsum("ij,pfkj->pfki", self.R[view], self.reference_world_m) + self.t[view]
        return shift_frames(cam, np.full(len(cam), -self.frame_offset[view]))

    def views_seeing(self, view: int) -> np.ndarray:
        """(P, F) how many views triangulate each identity, indexed by view ``view``'s own frames."""
        seeing = (self.member >= 0).sum(axis=-1)
        return shift_frames(seeing, np.full(len(seeing), -self.frame_offset[view]), fill=0.0).astype(int)


def multi_demo_folder() -> Path:
    """Demo_MultiPerson inside the installed pose2sim package."""
    return demo_folder().parent / "Demo_MultiPerson"


# --- the reference: people across views and over time (association.py), triangulated ---


def _people(det: Detections, K: np.ndarray, R: np.ndarray, t: np.ndarray, offsets: np.ndarray, frames: int,
            max_error: float) -> tuple[np.ndarray, np.ndarray]:
    """Associate, triangulate (robust DLT, all 17 joints) and link; (points (P, F, 17, 3) m, member (P, F, V)).
    Identities triangulated in < MIN_FRAMES frames are left out; the others are ordered by the distance of their
    mean pelvis from the cameras' mean centre, nearest first."""
    V = len(K)
    height_px = np.maximum(det.bbox_px[:, 3] - det.bbox_px[:, 1], 1.0)
    groups = []  # per frame (G_f, V), indices into det
    for f in range(frames):
        idx = np.concatenate([det.at(v, f + offsets[v]) for v in range(V)]).astype(int)
        local = associate(det.keypoints_px[idx], det.confidence[idx], det.view[idx], height_px[idx], K, R, t,
                          max_error)
        groups.append(np.where(local >= 0, idx[local], -1))
    flat = np.concatenate(groups).reshape(-1, V)  # (G, V)
    kp = np.where((flat >= 0)[..., None, None], det.keypoints_px[flat], np.nan)  # (G, V, 17, 2)
    conf = np.where((flat >= 0)[..., None], det.confidence[flat], 0.0)
    points, _ = triangulate_robust(kp.transpose(1, 0, 2, 3).reshape(V, -1, 2), conf.transpose(1, 0, 2).reshape(V, -1),
                                   K, R, t)
    points = points.reshape(-1, 17, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no torso joint: the centre stays NaN, unlinked
        centre = np.where(np.isfinite(points[:, PELVIS]), points[:, PELVIS], np.nanmean(points[:, TORSO], axis=1))
    split = np.cumsum([len(g) for g in groups])[:-1]
    identity = link_identities(np.split(centre, split))
    P = max((int(i.max()) + 1 for i in identity if len(i)), default=0)
    people = np.full((P, frames, 17, 3), np.nan)
    member = np.full((P, frames, V), -1)
    for f, (ids, rows) in enumerate(zip(identity, np.split(np.arange(len(flat)), split))):
        people[ids[ids >= 0], f] = points[rows[ids >= 0]]
        member[ids[ids >= 0], f] = flat[rows[ids >= 0]]
    middle_m = (-np.einsum("vji,vj->i", R, t) / V)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        distance = np.linalg.norm(np.nanmean(people[:, :, PELVIS], axis=1) - middle_m, axis=-1)
    order = [p for p in np.argsort(distance) if ((member[p] >= 0).sum(axis=1) >= 2).sum() >= MIN_FRAMES]
    return people[order], member[order]


def build_multiperson_reference(det: Detections, K: np.ndarray, R: np.ndarray, t: np.ndarray,
                                frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reference from V views' detections (module docstring): frame_offset (V,), reference_world_m
    (P, F, 17, 3) with spikes NaN, member (P, F, V), as MultiPersonReference holds them."""
    _, first = _people(det, K, R, t, np.zeros(len(K), int), frames, MAX_UNSYNCED_ERROR)
    if not len(first):
        raise ValueError("no person was found in two views at once; cannot triangulate a reference")
    # Each identity's joints side by side: (V, F, P * 17) series, as of one body seen by every view.
    keypoints_px = np.where((first >= 0)[..., None, None], det.keypoints_px[first], np.nan).transpose(2, 1, 0, 3, 4)
    confidence = np.where((first >= 0)[..., None], det.confidence[first], 0.0).transpose(2, 1, 0, 3)
    V, F = keypoints_px.shape[:2]
    frame_offset = frame_offsets(keypoints_px.reshape(V, F, -1, 2), confidence.reshape(V, F, -1), K, R, t)
    people, member = _people(det, K, R, t, frame_offset, frames, MAX_ASSOCIATION_ERROR)
    for p in range(len(people)):
        people[p][glitches(people[p])] = np.nan
    return frame_offset, people, member


# --- detection, cache ---


def _detect_view(video: Path, camera: Camera, desc: str) -> tuple[list[tuple], float, float]:
    """KeypointStage(BlazePose on ONNX Runtime, Tracker) on every full-resolution frame of ``video``, stamps =
    frame / fps. Returns rows (frame, track_id, keypoints_px undistorted, confidence, score, bbox_px), fps and the
    detector's seconds."""
    from tqdm import tqdm

    from pose3d_ros.detect import make_detector
    from pose3d_ros.pipeline import KeypointStage
    from pose3d_ros.track import Tracker

    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise FileNotFoundError(f"cannot open video {video}")
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    detector = make_detector("blazepose", backend="onnxruntime")
    stage = KeypointStage(detector, Tracker())
    rows, seconds = [], 0.0
    try:
        for f in tqdm(range(frames), desc=desc, unit="frame"):
            ok, bgr = capture.read()
            if not ok:
                raise RuntimeError(f"{video} ended at frame {f} of the {frames} it announces")
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            start = time.perf_counter()
            people, _ = stage.process(rgb, int(round(f * 1e9 / fps)))
            seconds += time.perf_counter() - start
            for p in people:
                rows.append((f, p.track_id, camera.undistort(p.keypoints_px), p.confidence, p.score, p.bbox_px))
    finally:
        detector.close()
        capture.release()
    return rows, fps, seconds


def build_reference(folder: Path | None = None) -> MultiPersonReference:
    """Detect in every view, then build the reference (build_multiperson_reference); ~15-40 s on 2 cores."""
    folder = folder or multi_demo_folder()
    cameras = parse_qualisys((folder / "calibration" / "Calib.qca.txt").read_text())
    rows, rates, frames, detect_seconds, image_size = [], set(), set(), 0.0, []
    for v, camera in enumerate(cameras):
        video = folder / "videos" / f"{camera.name}.mp4"
        view_rows, fps, seconds = _detect_view(video, camera, camera.name)
        rows += [(v, *row) for row in view_rows]
        detect_seconds += seconds
        rates.add(round(fps, 3))
        capture = cv2.VideoCapture(str(video))
        frames.add(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        image_size.append((int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))))
        capture.release()
    if len(rates) != 1 or len(frames) != 1 or not rows:
        raise ValueError(f"views disagree on fps {rates} or frame count {frames}, or nobody was detected "
                         f"({len(rows)} detections); expected videos of one rate and length, with people")
    det = Detections(*(np.array(column) for column in zip(*rows)))
    K, R, t = (np.stack([getattr(c, name) for c in cameras]) for name in ("K", "R", "t"))
    frame_offset, people, member = build_multiperson_reference(det, K, R, t, frames.pop())
    return MultiPersonReference(
        names=tuple(c.name for c in cameras), K=K, R=R, t=t, image_size=np.array(image_size), fps=rates.pop(),
        frame_offset=frame_offset, detections=det, reference_world_m=people, member=member,
        detect_seconds=detect_seconds, pose2sim_version=importlib.metadata.version("pose2sim"))


def _cache_key() -> dict[str, str]:
    """What the cached numbers depend on; a cache made under other values is rebuilt. The detector and tracker
    are what this evaluates, so their source is part of the key."""
    package = Path(__file__).parents[1]
    sources = sorted((package / "detect").glob("*.py")) + [package / n for n in ("track.py", "pipeline.py", "sides.py",
                                                                                 "layouts.py")]
    return {"key_pose2sim": importlib.metadata.version("pose2sim"),
            "key_mediapipe": importlib.metadata.version("mediapipe"),  # the BlazePose networks come from its wheel
            "key_onnxruntime": importlib.metadata.version("onnxruntime"),
            "key_detector": hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest(),
            "key_format": str(CACHE_FORMAT)}


def load_multiperson_reference(cache_dir: Path = Path("runs/cache")) -> MultiPersonReference:
    """The reference from ``cache_dir/pose2sim_multi_reference.npz``, built first (~15-40 s on 2 cores) when it is
    missing or was made by other pose2sim/mediapipe/onnxruntime versions, detector code or cache format."""
    path = Path(cache_dir) / CACHE_NAME
    key = _cache_key()
    detection_fields = [f.name for f in fields(Detections)]
    if path.exists():
        with np.load(path) as data:
            if all(k in data.files and str(data[k]) == v for k, v in key.items()):
                values = {f.name: data[f.name] for f in fields(MultiPersonReference) if f.name != "detections"}
                values["names"] = tuple(str(n) for n in values["names"])
                values["fps"], values["detect_seconds"] = float(values["fps"]), float(values["detect_seconds"])
                values["pose2sim_version"] = str(values["pose2sim_version"])
                return MultiPersonReference(**values, detections=Detections(
                    **{name: data[f"det_{name}"] for name in detection_fields}))
    reference = build_reference()
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f.name: np.asarray(getattr(reference, f.name)) for f in fields(MultiPersonReference)
              if f.name != "detections"}
    arrays.update({f"det_{name}": getattr(reference.detections, name) for name in detection_fields})
    np.savez_compressed(path, **arrays, **{k: np.array(v) for k, v in key.items()})
    return reference


# --- scores ---


@dataclass(frozen=True)
class ViewMatches:
    """One view's detections matched to the reference identities, (P, F) over that view's own frames.

    in_view: the identity is triangulated from >= 2 views and at least half its 17 joints project inside the image;
    matched: the detection (index into Detections) matched to it, -1 where none; duplicates: how many other,
    unmatched detections lie within MATCH_FRACTION of it too.
    """

    in_view: np.ndarray
    matched: np.ndarray
    duplicates: np.ndarray


def match_view(reference: MultiPersonReference, view: int) -> ViewMatches:
    """Each frame, the view's detections assigned to the identities (optimal assignment) by their mean distance
    over confident keypoints (>= MIN_CONFIDENCE) to the projected reference, over the identity's projected height;
    pairs above MATCH_FRACTION excluded."""
    det = reference.detections
    cam = reference.reference_cam_m(view)  # (P, F, 17, 3)
    projected = np.einsum("ij,pfkj->pfki", reference.K[view], cam)
    projected = projected[..., :2] / projected[..., 2:3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # identities absent in a frame stay NaN
        height_px = np.nanmax(projected[..., 1], axis=-1) - np.nanmin(projected[..., 1], axis=-1)
    with np.errstate(invalid="ignore"):  # NaN joints are not inside
        inside = ((cam[..., 2] > 0) & (projected >= -0.5).all(axis=-1)
                  & (projected < reference.image_size[view] - 0.5).all(axis=-1))  # (P, F, 17)
    in_view = (reference.views_seeing(view) >= 2) & (inside.sum(axis=-1) >= 17 / 2)
    P, F = in_view.shape
    matched, duplicates = np.full((P, F), -1), np.zeros((P, F), int)
    for f in range(F):
        idx = det.at(view, f)
        if not len(idx) or not P:
            continue
        distance = np.linalg.norm(det.keypoints_px[idx][None] - projected[:, f, None], axis=-1)  # (P, D, 17)
        usable = (det.confidence[idx][None] >= MIN_CONFIDENCE) & np.isfinite(distance)
        with np.errstate(invalid="ignore", divide="ignore"):
            cost = np.where(usable, distance, 0.0).sum(-1) / usable.sum(-1) / height_px[:, f, None]
        cost = np.where(cost <= MATCH_FRACTION, cost, _REJECTED)  # NaN (nothing to compare) is rejected too
        for p, d in zip(*linear_sum_assignment(cost)):
            if cost[p, d] < _REJECTED:
                matched[p, f] = idx[d]
        free = ~np.isin(idx, matched[:, f])
        duplicates[:, f] = ((cost < _REJECTED) & free[None] & (matched[:, f, None] >= 0)).sum(axis=1)
    return ViewMatches(in_view, matched, duplicates)


def id_switches(track_ids: np.ndarray) -> int:
    """How often the track id changes over a (F,) series of matched ids (-1 = unmatched frames, skipped)."""
    seen = track_ids[track_ids >= 0]
    return int((seen[1:] != seen[:-1]).sum())


def lift_detections(reference: MultiPersonReference, lifter: LifterRuntime) -> np.ndarray:
    """(N, 17, 3) camera-frame joints in metres for every detection, NaN where not lifted: each view's people
    stream frame by frame, with their track ids, through one LiftStage, as the lifter node runs it (undistorted
    keypoints, the view's pinhole K). A lifter that reads image crops gets the undistorted frames (view_frames)."""
    from tqdm import tqdm

    from pose3d_ros.camera import CameraModel
    from pose3d_ros.people import Person2D
    from pose3d_ros.pipeline import LiftStage

    det = reference.detections
    joints_cam_m = np.full((len(det.view), 17, 3), np.nan)
    frames = reference.member.shape[1]
    for v, name in enumerate(reference.names):
        camera = CameraModel(reference.K[v], *(int(x) for x in reference.image_size[v]))
        images = iter(view_frames(name, multi_demo_folder())) if lifter.crop_size else None
        stage = LiftStage(lifter)
        for f in tqdm(range(frames), desc=f"lift {name}", unit="frame"):
            rgb = None if images is None else next(images)
            idx = det.at(v, f)
            people = [Person2D(int(det.track_id[i]), det.keypoints_px[i].astype(np.float32),
                               det.confidence[i].astype(np.float32), float(det.score[i]),
                               det.bbox_px[i].astype(np.float32)) for i in idx]
            lifted, _ = stage.process(round(f * 1e9 / reference.fps), people, camera, rgb=rgb)
            by_track = {p.track_id: p.joints_cam_m for p in lifted}
            for i in idx:
                if det.track_id[i] in by_track:
                    joints_cam_m[i] = by_track[det.track_id[i]]
    return joints_cam_m


def score_views(reference: MultiPersonReference, lifted_m: np.ndarray | None = None) -> dict:
    """Per view and identity ('A', 'B', ...): frames in view, detection rate, id switches, duplicates, the
    reference's median reprojection error on that view's own detection (px), and with ``lifted_m`` (N, 17, 3)
    from lift_detections the lifted matches' mean P1, P2 and root error (mm) in the camera frame."""
    det = reference.detections
    result = {}
    for v, name in enumerate(reference.names):
        matches = match_view(reference, v)
        cam = reference.reference_cam_m(v)
        result[name] = {}
        for p in range(len(matches.in_view)):
            in_view, matched = matches.in_view[p], matches.matched[p]
            row = {"frames_in_view": int(in_view.sum()),
                   "detection_rate": float((matched[in_view] >= 0).mean()) if in_view.any() else float("nan"),
                   "id_switches": id_switches(np.where(matched >= 0, det.track_id[matched], -1)),
                   "duplicates": int(matches.duplicates[p][in_view].sum()),
                   "reprojection_px": _member_reprojection(reference, v, p)}
            if lifted_m is not None:
                pred = np.where((matched >= 0)[:, None, None], lifted_m[matched], np.nan)
                errors = evaluate_view(pred, cam[p])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # a view that never lifts them: NaN
                    row.update(frames_lifted=int(np.isfinite(errors.p1_mm).any(axis=1).sum()),
                               p1_mm=float(np.nanmean(errors.p1_mm)), p2_mm=float(np.nanmean(errors.p2_mm)),
                               root_mm=float(np.nanmean(root_error_mm(pred, cam[p]))))
            result[name][chr(ord("A") + p)] = row
    return result


def _member_reprojection(reference: MultiPersonReference, view: int, person: int) -> float:
    """Median distance (px) of the reference's projection to the detection view ``view`` gave its triangulation,
    over confident keypoints; NaN where the view never took part."""
    members = reference.member[person, :, view]
    frames = np.flatnonzero(members >= 0)
    if not len(frames):
        return float("nan")
    det = reference.detections
    points = reference.reference_world_m[person, frames].reshape(-1, 3)
    one = slice(view, view + 1)
    error = reprojection_error_px(points, det.keypoints_px[members[frames]].reshape(1, -1, 2), reference.K[one],
                                  reference.R[one], reference.t[one])[0]
    error = error[(det.confidence[members[frames]].reshape(-1) >= MIN_CONFIDENCE) & np.isfinite(error)]
    return float(np.median(error)) if len(error) else float("nan")


def evaluate_multiperson(cache_dir: Path = Path("runs/cache"), lifter: LifterRuntime | None = None) -> tuple[str, dict]:
    """The multi-person table (markdown) and its numbers: {"views": score_views(), "frame_offset", "identities",
    "frames_both", "seconds"}. lifter: a LifterRuntime; default the package's default model on ONNX Runtime."""
    from pose3d_ros.lift import make_lifter, resolve_model

    start = time.perf_counter()
    reference = load_multiperson_reference(cache_dir)
    lifter = lifter or make_lifter("onnxruntime", resolve_model("", "onnxruntime"))
    views = score_views(reference, lift_detections(reference, lifter))
    seen = (reference.member >= 0).sum(axis=-1) >= 2  # (P, F)
    summary = {"views": views, "frame_offset": reference.frame_offset.tolist(), "identities": len(seen),
               "frames_seen": seen.sum(axis=1).tolist(), "frames": seen.shape[1],
               "seconds": time.perf_counter() - start}
    return _table(reference, summary), summary


def _table(reference: MultiPersonReference, summary: dict) -> str:
    """Markdown of ``summary`` (evaluate_multiperson)."""
    lines = [
        f"Pose2Sim Demo_MultiPerson (pose2sim {reference.pose2sim_version}), {summary['frames']} frames per view at "
        f"{reference.fps:g} fps. Frame offsets (view v's frame f + offset is simultaneous with reference frame f): "
        + ", ".join(f"{n} {o:+d}" for n, o in zip(reference.names, summary["frame_offset"]))
        + f". {summary['identities']} identities; frames triangulated from >= 2 views: "
        + ", ".join(f"{chr(ord('A') + p)} {n}" for p, n in enumerate(summary["frames_seen"]))
        + ". A: the identity nearest the middle of the cameras (the man on the mat), B the next (the woman beside "
        "it).",
        "",
        "| view | person (evaluation only: never used for training decisions) | frames in view | detection rate "
        "| id switches | duplicates | ref reproj px | frames lifted | P1 mm | P2 mm | root mm |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, people in summary["views"].items():
        for person, r in people.items():
            lines.append(f"| {name} | {person} | {r['frames_in_view']} | {r['detection_rate']:.1%} "
                         f"| {r['id_switches']} | {r['duplicates']} | {r['reprojection_px']:.1f} "
                         f"| {r['frames_lifted']} | {r['p1_mm']:.1f} | {r['p2_mm']:.1f} | {r['root_mm']:.1f} |")
    lines += ["", f"Whole evaluation: {summary['seconds']:.1f} s (detection when the cache was built: "
                  f"{reference.detect_seconds:.1f} s)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pose3d_ros.eval.pose2sim_multi",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="cache folder (default: runs/cache)")
    args = parser.parse_args(argv)
    table, _ = evaluate_multiperson(args.cache)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
