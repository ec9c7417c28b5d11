"""The pipeline's two stages as plain Python, for notebooks and for the ROS nodes that wrap them.

    KeypointStage: RGB image -> detector -> Human3.6M-17 keypoints -> tracker -> side-swap guard -> list[Person2D]
    LiftStage:     list[Person2D] -> per-track causal windows [+ image crops] -> lifter -> camera-frame placement
                   [on the floor] -> list[Person3D]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pose3d_ros.body import body_rotation
from pose3d_ros.bones import BoneLengths
from pose3d_ros.buffer import CausalBuffer
from pose3d_ros.camera import (
    ROOT_ASSUMED_DEPTH,
    ROOT_FROM_DEPTH,
    ROOT_FROM_FLOOR,
    ROOT_FROM_KEYPOINTS,
    CameraModel,
    place_root,
    refine_root_with_depth,
)
from pose3d_ros.detect import Detector, to_layout
from pose3d_ros.floor import Floor, TrackScales, size_on_floor
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift import LifterRuntime
from pose3d_ros.lift.crops import crop_people
from pose3d_ros.people import Person2D, Person3D
from pose3d_ros.sides import SideSwapGuard
from pose3d_ros.timeline import JUMP_BACK_S, Stamp, Timeline
from pose3d_ros.track import Tracker


@dataclass
class Issue:
    """Something wrong with the input that the stage worked around. kind: a short counter name."""

    kind: str
    message: str


# Issue kinds of LiftStage.process when a lifter that reads image crops got no usable image: nobody was lifted.
IMAGE_ISSUES = ("image_missing", "image_format", "image_size")


def _place_in_time(timeline: Timeline, stamp_ns: int, reset: Callable[[], None]) -> tuple[bool, list[Issue]]:
    """The one time rule of every stage: whether to skip the frame (out of order), and the issues to report;
    ``reset`` the stage first when time jumped back."""
    placed, message = timeline.place(stamp_ns)
    if placed is Stamp.OUT_OF_ORDER:
        return True, [Issue("stamp_out_of_order", message)]
    if placed is Stamp.JUMPED_BACK:
        reset()
        return False, [Issue("time_jump_back", message)]
    return False, []


class KeypointStage:
    """Detect people in an image and track them; keypoints come out in the Human3.6M-17 layout, each track's
    left and right kept consistent from frame to frame (sides.py). Time that jumps back starts over
    (timeline.py); a frame slightly out of order is skipped."""

    def __init__(self, detector: Detector, tracker: Tracker | None = None, jump_back_s: float = JUMP_BACK_S):
        self.detector = detector
        self.tracker = tracker or Tracker()
        self.sides = SideSwapGuard(H36M17, max_tracks=self.tracker.max_tracks)
        self.timeline = Timeline(jump_back_s)

    def reset(self) -> None:
        """Forget everyone: the detector's followed people, the tracks (ids are not reused), the side guard."""
        self.detector.reset()
        self.tracker.reset()
        self.sides.reset()

    def process(self, rgb: np.ndarray, stamp_ns: int) -> tuple[list[Person2D], list[Issue]]:
        """rgb: (H, W, 3) uint8. Returns one Person2D per detected person, and what was wrong with the time:
        Issue "time_jump_back" (the state was reset first) or "stamp_out_of_order" (frame skipped, nobody)."""
        skip, issues = _place_in_time(self.timeline, stamp_ns, self.reset)
        if skip:
            return [], issues
        detections = [to_layout(d, H36M17) for d in self.detector.detect(rgb, stamp_ns)]
        people = []
        for track_id, d in zip(self.tracker.update(detections, stamp_ns), detections):
            keypoints_px, confidence = self.sides.apply(track_id, d.keypoints_px, d.confidence)
            people.append(Person2D(track_id, keypoints_px, confidence, d.score, d.bbox_px))
        return people, issues


class LiftStage:
    """Lift tracked 2D skeletons to 3D in the camera frame, one causal window per track.

    outside_margin: keypoints farther outside the image than this fraction of its size are treated as missing.
    max_people: most people lifted from one message (the most confident); a track id given twice counts once.
    A lifter whose ``crop_size`` is > 0 also reads each person's image crop (lift/crops.py), cut here from the
    image given to ``process``. With ``consistent_bones`` each track keeps its own bone lengths (bones.py).
    With a floor, each track keeps the body size its foot contacts give (floor.TrackScales). Time that jumps
    back starts over (timeline.py); a frame slightly out of order is skipped.
    """

    def __init__(self, lifter: LifterRuntime, max_people: int = 16, max_gap_s: float = 0.5,
                 outside_margin: float = 0.5, jump_back_s: float = JUMP_BACK_S, consistent_bones: bool = False):
        self.lifter = lifter
        self.crop_size = lifter.crop_size
        self.max_people = max_people
        self.buffer = CausalBuffer(lifter.receptive_field, H36M17.num_joints, max_people, max_gap_s)
        self.outside_margin = outside_margin
        self.timeline = Timeline(jump_back_s)
        self.scales = TrackScales()
        self.bones = BoneLengths(max_tracks=max_people) if consistent_bones else None

    def reset(self) -> None:
        """Forget every causal window, every track's size from the floor and its bone lengths."""
        self.buffer.reset()
        self.scales.reset()
        if self.bones is not None:
            self.bones.reset()

    def process(self, stamp_ns: int, people: list[Person2D], camera: CameraModel,
                depth_m: np.ndarray | None = None, rgb: np.ndarray | None = None,
                floor: Floor | None = None) -> tuple[list[Person3D], list[Issue]]:
        """Return the 3D skeletons of ``people`` at ``stamp_ns``, and the input issues met on the way.

        floor: the floor below a calibrated camera, if known. A track that has stood on it gets its body size
        from its foot contacts (floor.size_on_floor, floor.TrackScales), kept while it is followed, also in
        frames without contact or floor: its joints are scaled to that size and placed from the keypoints,
        which puts them at the distance that size implies (root_source ROOT_FROM_FLOOR). Others are placed as
        without a floor.
        depth_m: optional (H, W) depth in metres registered to the image (NaN where missing); where it covers
        enough joints, it refines the distance of each person not sized by the floor (root_source
        ROOT_FROM_DEPTH): the floor gives size and distance together, depth only the distance.
        rgb: the (H, W, 3) uint8 image the keypoints come from, camera.width x camera.height; read only when
        the lifter takes image crops (crop_size > 0). Without a usable one such a lifter lifts nobody (Issue
        "image_missing", "image_size" or "image_format"), while the keypoints still enter the windows.
        """
        skip, issues = _place_in_time(self.timeline, stamp_ns, self.reset)
        if skip:
            return [], issues
        self.buffer.drop_stale(stamp_ns)
        lifted = self._sanitise(self._bounded(people, issues), camera, issues)
        for person in lifted:  # in order: the timeline said so
            self.buffer.push(person.track_id, stamp_ns, person.keypoints_px, person.confidence)
        if not lifted:
            return [], issues
        windows = [self.buffer.window(p.track_id) for p in lifted]
        keypoints_px = np.stack([w[0] for w in windows])
        confidence = np.stack([w[1] for w in windows])
        if self.crop_size:
            problem = _image_problem(rgb, camera)
            if problem is not None:
                return [], [*issues, problem]
            crops = crop_people(rgb, keypoints_px, confidence, camera.K, self.crop_size)
            joints_rel_m = self.lifter.lift(keypoints_px, confidence, camera, crops).astype(np.float64)
        else:
            joints_rel_m = self.lifter.lift(keypoints_px, confidence, camera).astype(np.float64)
        if self.bones is not None:
            self.bones.keep(self.buffer)
            joints_rel_m = np.stack([self.bones.apply(p.track_id, j) for p, j in zip(lifted, joints_rel_m)])
        sources = np.full(len(lifted), ROOT_FROM_KEYPOINTS if camera.calibrated else ROOT_ASSUMED_DEPTH)
        sized = np.zeros(len(lifted), bool)
        self.scales.keep(self.buffer)  # the tracks whose windows were dropped or evicted lose their size too
        if camera.calibrated:  # foot rays and metric sizes need real intrinsics
            scale, on_floor = np.ones(len(lifted)), np.zeros(len(lifted), bool)
            if floor is not None:
                scale, on_floor, _ = size_on_floor(joints_rel_m, keypoints_px[:, -1], confidence[:, -1], camera,
                                                   floor)
            size = self.scales.update([p.track_id for p in lifted], stamp_ns, scale, on_floor)
            sized = np.isfinite(size)
            joints_rel_m *= np.where(sized, size, 1.0)[:, None, None]
            sources[sized] = ROOT_FROM_FLOOR
        root_m = place_root(joints_rel_m, keypoints_px[:, -1], confidence[:, -1], camera)
        if depth_m is not None:
            if depth_m.shape != (camera.height, camera.width):
                issues.append(Issue("depth_size", f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]}; expected "
                                                  f"{camera.width}x{camera.height} (registered to the image); unused"))
            else:
                for i in np.flatnonzero(~sized):
                    refined = refine_root_with_depth(joints_rel_m[i], root_m[i], keypoints_px[i, -1],
                                                     confidence[i, -1], depth_m)
                    if refined is not None:
                        root_m[i], sources[i] = refined, ROOT_FROM_DEPTH
        joints_cam_m = joints_rel_m + root_m[:, None]
        finite = np.isfinite(joints_cam_m).all(axis=(1, 2))
        if not finite.all():
            ids = [p.track_id for p, ok in zip(lifted, finite) if not ok]
            issues.append(Issue("nonfinite_3d", f"tracks {ids}: the 3D joints came out NaN or infinite (extreme "
                                                "keypoints or intrinsics); not published"))
        rotations = body_rotation(np.where(finite[:, None, None], joints_cam_m, 0.0))
        return [
            Person3D(p.track_id, joints_cam_m[i].astype(np.float32), p.confidence, rotations[i], int(sources[i]))
            for i, p in enumerate(lifted) if finite[i]
        ], issues

    def _bounded(self, people: list[Person2D], issues: list[Issue]) -> list[Person2D]:
        """``people`` with each track id once (the first) and at most max_people of them (the highest scores),
        so one message can neither evict a window it is about to read nor make the lifter's work unbounded."""
        seen: set[int] = set()
        unique = [p for p in people if not (p.track_id in seen or seen.add(p.track_id))]
        if len(unique) < len(people):
            issues.append(Issue("duplicate_track_id", f"{len(people) - len(unique)} of {len(people)} skeletons "
                                                      "repeat a track id of the same message; kept the first of each"))
        if len(unique) > self.max_people:
            issues.append(Issue("too_many_people", f"{len(unique)} people in one message; lifted the "
                                                   f"{self.max_people} with the highest scores (max_people)"))
            unique = sorted(unique, key=lambda p: -float(np.nan_to_num(p.score, nan=-1.0)))[:self.max_people]
        return unique

    def _sanitise(self, people: list[Person2D], camera: CameraModel, issues: list[Issue]) -> list[Person2D]:
        """``people`` with non-finite and far-outside keypoints marked missing (confidence 0, placed at the
        person's centroid); a person with a wrongly shaped skeleton or no usable keypoint is left out. One numpy
        pass over everyone: per person it cost more than the lifter network."""
        shaped, keypoints, confidences = [], [], []
        for person in people:
            keypoints_px = np.asarray(person.keypoints_px, np.float32)
            confidence = np.asarray(person.confidence, np.float32)
            if keypoints_px.shape != (H36M17.num_joints, 2) or confidence.shape != (H36M17.num_joints,):
                issues.append(Issue("bad_shape", f"track {person.track_id}: keypoints {keypoints_px.shape}, "
                                                 f"confidence {confidence.shape}; expected (17, 2) and (17,) in "
                                                 "layout h36m17"))
                continue
            shaped.append(person)
            keypoints.append(keypoints_px)
            confidences.append(confidence)
        if not shaped:
            return []
        keypoints_px = np.stack(keypoints)
        confidence = np.nan_to_num(np.stack(confidences), nan=0.0).clip(0.0, 1.0)
        finite = np.isfinite(keypoints_px).all(axis=-1)
        size = np.array([camera.width, camera.height], np.float32)
        with np.errstate(invalid="ignore"):
            inside = ((keypoints_px >= -self.outside_margin * size) &
                      (keypoints_px <= (1 + self.outside_margin) * size)).all(axis=-1)
        valid = finite & inside
        confidence = np.where(valid, confidence, 0.0).astype(np.float32)
        seen = confidence > 0
        count = seen.sum(axis=1)
        centroid = (np.where(seen[..., None], np.nan_to_num(keypoints_px), 0.0).sum(axis=1)
                    / np.maximum(count, 1)[:, None])
        keypoints_px = np.where(valid[..., None], keypoints_px, centroid[:, None]).astype(np.float32)
        out = []
        for i, person in enumerate(shaped):
            if not finite[i].all():
                issues.append(Issue("nonfinite_keypoints", f"track {person.track_id}: {int((~finite[i]).sum())} "
                                                           "keypoints are NaN or infinite; treated as missing"))
            if not inside[i][finite[i]].all():
                outside = int((finite[i] & ~inside[i]).sum())
                issues.append(Issue("keypoints_outside_image", f"track {person.track_id}: {outside} keypoints lie "
                                    f"far outside the {camera.width}x{camera.height} image; treated as missing"))
            if count[i] == 0:
                issues.append(Issue("no_valid_keypoints", f"track {person.track_id}: no usable keypoint; person "
                                                          "skipped"))
                continue
            out.append(Person2D(person.track_id, keypoints_px[i], confidence[i], person.score, person.bbox_px))
        return out


def _image_problem(rgb: np.ndarray | None, camera: CameraModel) -> Issue | None:
    """Why ``rgb`` cannot give crops for keypoints measured in ``camera``'s image, or None when it can."""
    if rgb is None:
        return Issue("image_missing", "this lifter reads image crops but no image came with the keypoints; "
                                      "nobody lifted (pass the image the keypoints were detected in)")
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        return Issue("image_format", f"image {rgb.shape} {rgb.dtype}; expected (H, W, 3) uint8 RGB; nobody lifted")
    if rgb.shape[:2] != (camera.height, camera.width):
        return Issue("image_size", f"image is {rgb.shape[1]}x{rgb.shape[0]} but the keypoints refer to a "
                                   f"{camera.width}x{camera.height} camera; nobody lifted (expected the image "
                                   "the keypoints were detected in)")
    return None
