"""Every person in view with BlazePose's two networks, run by the package itself (Bazarevsky et al., 2020).

    person detector on square tiles -> weighted NMS -> a rotated ROI per person
    -> landmark network per ROI (all people in one batch) -> 33 keypoints, visibility, presence, world landmarks
    -> each person's next ROI from their own landmarks

The detector scans the image every ``detect_every`` frames, and at once when a person was lost or nobody is
followed; between scans each person is followed by the ROI their landmarks give (MediaPipe's own trick, which
also finds people too small for the whole-frame detector). Tiles: the 224-pixel detector misses people shorter
than about half the frame, so wide images are covered by overlapping squares of the short side, one tile per
frame in the background while people are followed (its people are followed from the next frame on; no frame
waits for a scan), all at once while nobody is followed.
Two tracks on one person are merged. The networks come as sessions of the runtime layer (``Network``).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pose3d_ros.detect.base import Detection, DetectorError, check_rgb
from pose3d_ros.detect.roi import (
    DETECTOR_SIZE,
    Candidates,
    Letterbox,
    Roi,
    crop_to_image,
    cut_crop,
    decode_detections,
    letterbox_square,
    roi_from_points,
    rotate_world,
    ssd_anchors,
    weighted_nms,
)
from pose3d_ros.detect.smoothing import VelocityFilter
from pose3d_ros.layouts import BLAZEPOSE33

# The landmark network's 39 points: BlazePose-33, then two it uses to place the next ROI (hip centre and a
# point above the head, as the detector's keypoints 0 and 1), then four it does not use.
_HIP_CENTRE, _ABOVE_HEAD = 33, 34
_NUM_LANDMARKS = 39
_TIMINGS_KEPT = 10_000
# Images the tiles can cover: a thinner or narrower one would need a tile per few pixels (32767x1: 32768 tiles).
MIN_SIDE_PX = 32
MAX_ASPECT = 4


class Network(Protocol):
    """A network session (pose3d_ros.runtime): named inputs with a batch dimension 0 -> outputs in order."""

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...


@dataclass
class BlazePoseConfig:
    """detect_every: frames between detector runs while every person is followed (1 = every frame).
    max_people: people followed at once; more detections wait until someone leaves.
    min_detection_score: detector score that opens a person, in [0, 1].
    min_presence: landmark network's presence below which a person is lost, in [0, 1].
    same_person: two people whose keypoints lie closer than this fraction of the ROI side (mean distance) are one:
        a detection's hip centre and head point against someone followed, or two followed people's 33 keypoints.
        Keypoints, not boxes: people standing one behind the other overlap a lot and are still two.
    smooth: MediaPipe's velocity filter on each person's keypoints (smoothing.py).
    """

    detect_every: int = 10
    max_people: int = 8
    min_detection_score: float = 0.5
    min_presence: float = 0.5
    same_person: float = 0.1
    smooth: bool = True

    def __post_init__(self) -> None:
        for name in ("min_detection_score", "min_presence", "same_person"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise DetectorError(f"blazepose {name} {getattr(self, name)} out of range; expected 0 to 1")
        if self.detect_every < 1 or self.max_people < 1:
            raise DetectorError(f"blazepose detect_every {self.detect_every}, max_people {self.max_people}; "
                                "expected both >= 1")


@dataclass
class _Person:
    """One person followed from frame to frame by their ROI."""

    person_id: int
    roi: Roi
    axis_px: np.ndarray  # (2, 2) hip centre and the point above the head that placed the ROI
    keypoints_px: np.ndarray | None = None  # (33, 2) last frame's, before smoothing
    motion: float = math.inf  # how far the keypoints moved in the last frame, in ROI sizes (inf when new)
    smoother: VelocityFilter = field(default_factory=VelocityFilter)


def content_box(rgb: np.ndarray, black: int = 8) -> tuple[int, int, int, int]:
    """(x, y, width, height) of ``rgb`` without the black bars of a letterboxed frame, so the tiles spend the
    detector's 224 pixels on the picture. A side is trimmed only when at least half the image remains (bars,
    not a dark scene)."""
    height, width = rgb.shape[:2]
    # Reductions over contiguous memory: 0.1 ms at 640x480, where a max over the channel axis takes 6 ms.
    lit_columns = rgb.max(axis=0).max(axis=1) > black
    lit_rows = rgb.reshape(height, -1).max(axis=1) > black
    box = []
    for lit, size in ((np.flatnonzero(lit_columns), width), (np.flatnonzero(lit_rows), height)):
        keep = lit.size and lit[-1] + 1 - lit[0] >= size / 2
        box.append((int(lit[0]), int(lit[-1] + 1 - lit[0])) if keep else (0, size))
    (x, box_width), (y, box_height) = box
    return x, y, box_width, box_height


def square_tiles(width: int, height: int) -> list[tuple[int, int, int]]:
    """Overlapping squares (x, y, side) of the short side covering a ``width`` x ``height`` image, evenly
    spread; one square for a square image."""
    side = min(width, height)
    long_side = max(width, height)
    count = 1 if long_side == side else long_side // side + 1
    starts = np.linspace(0, long_side - side, count).round().astype(int)
    return [(int(s), 0, side) if width >= height else (0, int(s), side) for s in starts]


def _tiles(rgb: np.ndarray) -> list[tuple[int, int, int]]:
    """The detector's tiles (x, y, side) in ``rgb``'s pixels: squares over its picture, black bars left out."""
    left, top, width, height = content_box(rgb)
    return [(x + left, y + top, side) for x, y, side in square_tiles(width, height)]


class BlazePoseDetector:
    """BlazePose-33 keypoints of every person: ``detect(rgb, stamp_ns)`` -> one Detection per person.

    detector: the pose detector network, input ``image`` (N, 224, 224, 3) in [-1, 1], outputs (boxes, scores).
    landmarks: the landmark network, input ``image`` (N, 256, 256, 3) in [0, 1], outputs (landmarks, presence,
    world_landmarks); every person of a frame goes in one batch (a runtime.SessionPool spreads it over cores).
    Detection.source_id is the person's id here, stable while their ROI follows them.
    """

    layout = BLAZEPOSE33

    def __init__(self, detector: Network, landmarks: Network, config: BlazePoseConfig | None = None):
        self.detector = detector
        self.landmarks = landmarks
        self.config = config or BlazePoseConfig()
        self._anchors = ssd_anchors()
        self._people: list[_Person] = []
        self._next_id = 1
        self._frames_to_detect = 0
        self._tiles_left = 0  # tiles of the current detector round not yet scanned, one per frame
        self._scanner = ThreadPoolExecutor(1, "blazepose_scan", initializer=_background_priority)
        self._scan: Future[Candidates] | None = None  # started on the previous frame
        # Recent network timings (bounded), for benchmarks: detector calls; landmark calls with their people.
        self.detector_ms: deque[float] = deque(maxlen=_TIMINGS_KEPT)
        self.landmark_ms: deque[tuple[float, int]] = deque(maxlen=_TIMINGS_KEPT)

    def reset(self) -> None:
        """Forget everyone (a jump in time, another video): the next frame runs the detector."""
        self._people = []
        self._frames_to_detect = 0
        self._tiles_left = 0
        self._scan = None  # whatever it finds is in the old time line

    def detect(self, rgb: np.ndarray, stamp_ns: int) -> list[Detection]:
        """People in (H, W, 3) uint8 RGB; keypoints in pixels of ``rgb`` (origin at the top-left pixel's centre)."""
        rgb = check_rgb(rgb)
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_SIDE_PX or max(height, width) > MAX_ASPECT * min(height, width):
            raise DetectorError(f"image {width}x{height}: expected a camera picture, each side >= {MIN_SIDE_PX} px "
                                f"and at most {MAX_ASPECT}:1 (the detector covers it with square tiles)")
        if self._scan is not None:  # started on the previous frame, finished since: follow whom it found
            self._open(self._scan.result())
            self._scan = None
        if not self._people:  # nobody to follow, no landmark work: scan every tile now
            self._open(self._run_detector(*self._detector_inputs(rgb, _tiles(rgb))))
            self._frames_to_detect, self._tiles_left = self.config.detect_every, 0
        elif self._tiles_left or self._frames_to_detect <= 0:  # one tile per frame, in the background
            tiles = _tiles(rgb)
            if self._tiles_left == 0:  # a new scan of every tile
                self._frames_to_detect, self._tiles_left = self.config.detect_every, len(tiles)
            self._tiles_left = min(self._tiles_left, len(tiles)) - 1
            inputs = self._detector_inputs(rgb, [tiles[-1 - self._tiles_left]])
            self._scan = self._scanner.submit(self._run_detector, *inputs)  # no frame waits for a scan
        self._frames_to_detect -= 1
        return self._follow(rgb, stamp_ns) if self._people else []

    def close(self) -> None:
        self._scanner.shutdown(wait=True)
        self._people = []
        for network in (self.detector, self.landmarks):
            close = getattr(network, "close", None)
            if close is not None:
                close()

    def _follow(self, rgb: np.ndarray, stamp_ns: int) -> list[Detection]:
        """Run the landmark network on everyone followed; drop the lost, move each ROI, merge duplicates."""
        outputs = self._run_landmarks(np.stack([cut_crop(rgb, p.roi) for p in self._people]))
        detections, kept = [], []
        for person, landmarks, presence, world in zip(self._people, *outputs):
            if presence < self.config.min_presence:
                self._frames_to_detect = 0  # someone was lost: look again in the next frame
                continue
            detections.append(self._decode(person, landmarks, float(presence), world, rgb.shape, stamp_ns))
            kept.append(person)
        self._people, detections = self._merge_duplicates(kept, detections)
        return detections

    @staticmethod
    def _detector_inputs(rgb: np.ndarray, tiles: list[tuple[int, int, int]]) -> tuple:
        """The detector's input (N, 224, 224, 3) for ``tiles`` (x, y, side) of ``rgb``, with each tile's letterbox
        and position: a copy, so a scan in the background never reads the caller's image."""
        inputs, boxes = zip(*(letterbox_square(rgb[y:y + s, x:x + s]) for x, y, s in tiles))
        return np.stack(inputs), boxes, tiles

    def _run_detector(self, inputs: np.ndarray, boxes: tuple[Letterbox, ...],
                      tiles: list[tuple[int, int, int]]) -> Candidates:
        """People the detector finds in its ``inputs``, in image pixels (continuous coordinates), merged across
        tiles. Touches no state but the detector's timings, so it may run on another thread."""
        start = time.perf_counter()
        raw_boxes, raw_scores = self.detector.run({"image": inputs})[:2]
        self.detector_ms.append((time.perf_counter() - start) * 1e3)
        found = []
        for (x, y, _), box, tile_boxes, tile_scores in zip(tiles, boxes, raw_boxes, raw_scores):
            candidates = decode_detections(tile_boxes, tile_scores, self._anchors, self.config.min_detection_score)
            shift = np.array([x, y], np.float32)
            found.append(Candidates(
                candidates.scores,
                (box.to_image(candidates.boxes.reshape(-1, 2, 2) * DETECTOR_SIZE) + shift).reshape(-1, 4),
                box.to_image(candidates.keypoints * DETECTOR_SIZE) + shift,
            ))
        return weighted_nms(Candidates(*(np.concatenate(parts) for parts in zip(
            *((c.scores, c.boxes, c.keypoints) for c in found)))))

    def _open(self, found: Candidates) -> None:
        """Follow each person in ``found`` whom nobody follows yet, best first, up to max_people."""
        for axis_px in found.keypoints[:, :2]:
            if len(self._people) >= self.config.max_people:
                break
            if any(_distance(axis_px, p.axis_px) < self.config.same_person * p.roi.size_px for p in self._people):
                continue
            self._people.append(_Person(self._next_id, roi_from_points(*axis_px), axis_px))
            self._next_id += 1

    def _run_landmarks(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(landmarks (P, 195), presence (P,), world (P, 117)) for crops (P, 256, 256, 3)."""
        start = time.perf_counter()
        landmarks, presence, world = self.landmarks.run({"image": crops})[:3]
        self.landmark_ms.append(((time.perf_counter() - start) * 1e3, len(crops)))
        return landmarks, presence.reshape(-1), world

    def _decode(self, person: _Person, raw: np.ndarray, presence: float, raw_world: np.ndarray,
                shape: tuple[int, ...], stamp_ns: int) -> Detection:
        """The person's Detection from their landmark outputs; moves their ROI to where the landmarks are."""
        values = raw.reshape(_NUM_LANDMARKS, 5)
        points = crop_to_image(values[:, :2], person.roi)  # continuous image coordinates
        visibility = 1.0 / (1.0 + np.exp(-values[:33, 3]))
        world_m = rotate_world(raw_world.reshape(_NUM_LANDMARKS, 3)[:33], person.roi)
        keypoints_px = points[:33] - 0.5  # to the pixel-centre convention of the package
        if person.keypoints_px is not None:
            person.motion = float(np.linalg.norm(keypoints_px - person.keypoints_px, axis=-1).mean()
                                  / person.roi.size_px)
        person.keypoints_px = keypoints_px
        person.axis_px = points[[_HIP_CENTRE, _ABOVE_HEAD]]
        person.roi = roi_from_points(*person.axis_px)
        if self.config.smooth:
            keypoints_px = person.smoother.apply(stamp_ns * 1e-9, keypoints_px, person.roi.size_px / 1.25)
        height, width = shape[:2]
        inside = np.clip(keypoints_px, 0, [width - 1, height - 1])
        bbox_px = np.concatenate([inside.min(axis=0), inside.max(axis=0)])
        return Detection(keypoints_px.astype(np.float32), visibility.astype(np.float32), BLAZEPOSE33, presence,
                         bbox_px.astype(np.float32), world_m.astype(np.float32), source_id=person.person_id)

    def _merge_duplicates(self, people: list[_Person],
                          detections: list[Detection]) -> tuple[list[_Person], list[Detection]]:
        """Keep one of any two people whose keypoints coincide: the one whose keypoints moved least (a track that
        drifted onto someone else moved most, and one opened this frame has not moved yet), so a crossing does
        not hand one person's id to the other."""
        drop: set[int] = set()
        for i in range(len(people)):
            for j in range(i + 1, len(people)):
                if i in drop or j in drop:
                    continue
                size = min(people[i].roi.size_px, people[j].roi.size_px)
                if _distance(people[i].keypoints_px, people[j].keypoints_px) < self.config.same_person * size:
                    drop.add(j if people[i].motion <= people[j].motion else i)
        keep = [k for k in range(len(people)) if k not in drop]
        return [people[k] for k in keep], [detections[k] for k in keep]


def _background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: per thread), so the landmark network and the rest of the
    graph go first and a scan takes the time they leave between frames."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # other systems, or a sandbox that forbids it: an ordinary thread then
        pass


def _distance(a_px: np.ndarray, b_px: np.ndarray) -> float:
    """Mean distance between corresponding points (N, 2) of ``a_px`` and ``b_px``."""
    return float(np.linalg.norm(a_px - b_px, axis=-1).mean())


LANDMARK_MODELS = ("lite", "full", "heavy")
TILES_MAX = 4  # tiles per detector call; a 16:9 image needs 2, only very wide ones more


def default_workers() -> int:
    """One single-threaded session per core this process may use, at most 4 (a frame rarely has more people, and
    never more tiles). On 2 cores the composed graph on the demo video (two people) gave a 3D latency of
    21-24 ms at the median with two sessions, 31-32 ms with one (the scan runs beside either)."""
    return min(4, len(os.sched_getaffinity(0)))


def open_blazepose(backend: str = "auto", landmark_model: str = "full", workers: int = 0, max_people: int = 8,
                   detect_every: int = 10, min_detection_confidence: float = 0.5,
                   min_tracking_confidence: float = 0.5, static_image_mode: bool = False, smooth: bool = True,
                   precision: str = "fp16", engine_dir: str | None = None, cache_dir: str | None = None,
                   log: Callable[[str], None] | None = None) -> BlazePoseDetector:
    """A BlazePoseDetector on the runtime ``backend`` (auto, onnxruntime, onnxruntime_cuda, tensorrt).

    The ONNX models are made from the installed mediapipe wheel on first use (detect/model_files.py); lite and
    heavy come from the npm registry when first asked for. On the CPU, ``workers`` single-threaded sessions
    (0: default_workers()) share each batch; a GPU takes the batch whole. min_detection_confidence opens a person, below
    min_tracking_confidence a person is lost; static_image_mode runs the detector on every frame, unsmoothed
    (unrelated images). Raises DetectorError naming what is missing.
    """
    from pose3d_ros.detect.model_files import blazepose_onnx
    from pose3d_ros.runtime import InferenceError, open_session
    from pose3d_ros.runtime.pool import SessionPool

    if landmark_model not in LANDMARK_MODELS:
        raise DetectorError(f"blazepose landmark_model '{landmark_model}' unknown; expected one of "
                            f"{', '.join(LANDMARK_MODELS)}")
    if workers < 0:
        raise DetectorError(f"blazepose workers {workers}; expected >= 1, or 0 for one per core (at most 4)")
    workers = workers or default_workers()
    config = BlazePoseConfig(1 if static_image_mode else detect_every, max_people, min_detection_confidence,
                             min_tracking_confidence, smooth=smooth and not static_image_mode)
    paths = {"detector": blazepose_onnx("detector", cache_dir), "landmarks": blazepose_onnx(landmark_model, cache_dir)}
    options = {"precision": precision, "engine_dir": engine_dir, **({"log": log} if log else {})}
    try:
        landmarks = open_session(backend, paths["landmarks"], max_batch=max_people, **options)
        sessions = {"detector": [open_session(landmarks.backend, paths["detector"], max_batch=TILES_MAX, **options)],
                    "landmarks": [landmarks]}
        if landmarks.backend == "onnxruntime":  # the CPU: one single-threaded session per worker
            for name, path in paths.items():
                sessions[name] += [open_session("onnxruntime", path) for _ in range(workers - 1)]
    except InferenceError as err:
        raise DetectorError(f"blazepose cannot run on backend '{backend}': {err}") from err
    return BlazePoseDetector(SessionPool(sessions["detector"]), SessionPool(sessions["landmarks"]), config)
