"""Score a multi-person 2D tracker against a per-frame reference of who is visible, CLEAR-MOT style.

The reference (e.g. ``test/data/sports2d_demo_people.csv``) has one row per (frame, person): whether the person
is visible, a box around the visible body in the original video's pixels, and whether they are partly hidden.

Matching, per frame: a prediction may match a visible reference person when their IoU is >= 0.3, or when the
prediction's centre lies inside the reference box, because the reference boxes only the visible body, so a
detector that boxes the whole of a half-hidden person (or only their torso) overlaps little while plainly being
that person. As in CLEAR-MOT (Bernardin & Stiefelhagen, "Evaluating Multiple Object Tracking Performance", 2008),
a person keeps the track id of their previous match while that pair may still match, so a second box on the
same person cannot steal the match and fake an id switch; the rest are paired by optimal assignment on IoU.
A prediction left over is a duplicate when it lies on a matched person (IoU >= 0.5 or centre inside their box),
otherwise a false positive.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

IOU_MATCH = 0.3
IOU_DUPLICATE = 0.5
# Cost of a pair that must not match; finite, because the assignment solver rejects all-infinite rows.
_REJECTED = 1e6
_BOX_COLUMNS = ("x_min", "y_min", "x_max", "y_max")


@dataclass(frozen=True)
class Reference:
    """Who is visible in each frame and where, in the original video's pixels (x right, y down)."""

    frames: np.ndarray  # (F,) frame indices 0..F-1
    labels: tuple[str, ...]  # (P,) person labels, in file order
    visible: np.ndarray  # (F, P) bool
    bbox_px: np.ndarray  # (F, P, 4) x_min, y_min, x_max, y_max; NaN where not visible
    occluded: np.ndarray  # (F, P) bool: partly hidden (tree, other person, image border)


def load_reference(path: str | Path) -> Reference:
    """Parse a CSV with columns frame,person,visible,x_min,y_min,x_max,y_max,occluded (lines starting with '#'
    are comments) holding exactly one row per person for every frame 0..F-1."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    labels = tuple(dict.fromkeys(r["person"] for r in rows))
    n_frames = max(int(r["frame"]) for r in rows) + 1
    if len(rows) != n_frames * len(labels):
        raise ValueError(f"{path}: {len(rows)} rows; expected one per frame 0..{n_frames - 1} and person "
                         f"{labels}: {n_frames * len(labels)}")
    visible = np.zeros((n_frames, len(labels)), dtype=bool)
    occluded = np.zeros_like(visible)
    bbox_px = np.full((n_frames, len(labels), 4), np.nan)
    seen = np.zeros_like(visible)
    for r in rows:
        f, p = int(r["frame"]), labels.index(r["person"])
        if seen[f, p]:
            raise ValueError(f"{path}: frame {f} has two rows for {r['person']!r}")
        seen[f, p], visible[f, p], occluded[f, p] = True, r["visible"] == "1", r["occluded"] == "1"
        if visible[f, p]:
            bbox_px[f, p] = [float(r[k]) for k in _BOX_COLUMNS]
            if not np.all(bbox_px[f, p, 2:] > bbox_px[f, p, :2]):
                raise ValueError(f"{path}: frame {f} {r['person']!r} box {bbox_px[f, p].tolist()} is empty; "
                                 "expected x_min < x_max and y_min < y_max")
    return Reference(np.arange(n_frames), labels, visible, bbox_px, occluded)


def iou(a_px: np.ndarray, b_px: np.ndarray) -> np.ndarray:
    """Intersection over union of boxes (N, 4) and (M, 4), as x_min, y_min, x_max, y_max -> (N, M)."""
    lo = np.maximum(a_px[:, None, :2], b_px[None, :, :2])
    hi = np.minimum(a_px[:, None, 2:], b_px[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area_a, area_b = (np.prod(x[:, 2:] - x[:, :2], axis=-1) for x in (a_px, b_px))
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def centre_inside(box_px: np.ndarray, points_of_px: np.ndarray) -> np.ndarray:
    """(N, M) bool: the centre of box ``points_of_px[m]`` lies inside ``box_px[n]``."""
    centre = (points_of_px[:, :2] + points_of_px[:, 2:]) / 2
    return np.all((centre[None] >= box_px[:, None, :2]) & (centre[None] <= box_px[:, None, 2:]), axis=-1)


def _match(overlap: np.ndarray, admissible: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Rows (people) to columns (predictions): a row keeps ``previous[row]`` (the column carrying its last track
    id, -1 if none) while admissible, the rest go by optimal assignment on IoU. (N,) column per row, -1 if none."""
    match = np.full(overlap.shape[0], -1)
    for row, col in enumerate(previous):
        if col >= 0 and admissible[row, col] and col not in match:
            match[row] = col
    rows, cols = np.flatnonzero(match < 0), np.setdiff1d(np.arange(overlap.shape[1]), match)
    cost = np.where(admissible, 1.0 - overlap, _REJECTED)[np.ix_(rows, cols)]
    for r, c in zip(*linear_sum_assignment(cost)):
        if cost[r, c] < _REJECTED:
            match[rows[r]] = cols[c]
    return match


def _share(found: int, visible: int) -> float:
    return found / visible if visible else float("nan")


@dataclass
class PersonScore:
    """Person-frame counts for one reference person (or summed over all); "clear" = visible, not occluded."""

    visible: int = 0
    found: int = 0
    visible_clear: int = 0
    found_clear: int = 0
    duplicates: int = 0
    id_switches: int = 0
    fragmentations: int = 0
    track_ids: list[int] = field(default_factory=list)  # in order of first match

    def shares(self) -> dict[str, float]:
        """Share of visible person-frames found: all, not occluded, occluded; NaN when there are none."""
        return {"share_found": _share(self.found, self.visible),
                "share_found_clear": _share(self.found_clear, self.visible_clear),
                "share_found_occluded": _share(self.found - self.found_clear, self.visible - self.visible_clear)}


@dataclass
class MultiPersonScore:
    """The whole video's counts, per reference person."""

    people: dict[str, PersonScore]
    frames: int
    frames_exact_count: int  # frames with as many predictions as visible people
    false_positives: int

    def overall(self) -> PersonScore:
        """Everyone's counts summed; track ids stay per person."""
        counts = [k for k in PersonScore.__dataclass_fields__ if k != "track_ids"]
        return PersonScore(**{k: sum(getattr(p, k) for p in self.people.values()) for k in counts})

    def as_dict(self) -> dict:
        """Plain numbers for JSON: the overall counts and shares, then per person; a share of nothing is None."""
        def plain(p: PersonScore) -> dict:
            shares = {k: None if np.isnan(v) else v for k, v in p.shares().items()}
            return {**asdict(p), **shares}
        overall = plain(self.overall())
        del overall["track_ids"]
        return {"frames": self.frames, "frames_exact_count": self.frames_exact_count,
                "false_positives": self.false_positives, **overall,
                "people": {name: plain(p) for name, p in self.people.items()}}

    def table(self) -> str:
        """A markdown table, one row per person and one for all, then the frame counts."""
        def pct(x: float) -> str:
            return "–" if np.isnan(x) else f"{100 * x:.1f}"
        lines = ["| person | visible | found | found % | not occluded % | occluded % | duplicates | id switches "
                 "| fragmentations | track ids |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for name, p in [*self.people.items(), ("all", self.overall())]:
            s = p.shares()
            lines.append(f"| {name} | {p.visible} | {p.found} | {pct(s['share_found'])} "
                         f"| {pct(s['share_found_clear'])} | {pct(s['share_found_occluded'])} | {p.duplicates} "
                         f"| {p.id_switches} | {p.fragmentations} | {', '.join(map(str, p.track_ids)) or '–'} |")
        lines.append(f"\n{self.frames_exact_count}/{self.frames} frames with the exact count of people; "
                     f"{self.false_positives} false positives.")
        return "\n".join(lines)


def score_tracks(reference: Reference, predictions, scale=(1.0, 1.0), offset=(0.0, 0.0)) -> MultiPersonScore:
    """Score a tracker's output against ``reference``.

    predictions: one sequence per reference frame of ``(track_id, bbox_px)`` pairs, bbox_px = (x_min, y_min,
    x_max, y_max) in the pixels of the image the detector saw. That image is the original resized by
    ``scale`` = (sx, sy) and shifted by ``offset`` = (ox, oy) pixels, so original_px = (pred_px - offset) / scale;
    for ``pose3d_ros.image.letterbox`` pass scale=(s, s), offset=offset_px (the demo's 1768x994 video letterboxed
    to 640x480: s = 640/1768, offset (0, 60)).
    """
    if len(predictions) != reference.frames.size:
        raise ValueError(f"{len(predictions)} frames of predictions; the reference has {reference.frames.size}")
    scale_px, offset_px = np.tile(np.asarray(scale, float), 2), np.tile(np.asarray(offset, float), 2)
    people = {label: PersonScore() for label in reference.labels}
    last_track: dict[int, int] = {}  # person index -> track id of their latest match
    missed = set()  # people unmatched while visible since their latest match: a resume is a fragmentation
    exact = false_positives = 0
    for f, frame in enumerate(predictions):
        ids = [int(track_id) for track_id, _ in frame]
        pred_px = (np.array([box for _, box in frame], float).reshape(-1, 4) - offset_px) / scale_px
        refs = np.flatnonzero(reference.visible[f])
        ref_px = reference.bbox_px[f, refs]
        overlap, inside = iou(ref_px, pred_px), centre_inside(ref_px, pred_px)
        previous = np.array([ids.index(last_track[r]) if last_track.get(r) in ids else -1 for r in refs], int)
        match = _match(overlap, (overlap >= IOU_MATCH) | inside, previous)
        exact += len(ids) == len(refs)
        for row, r in enumerate(refs):
            person, clear = people[reference.labels[r]], not reference.occluded[f, r]
            person.visible += 1
            person.visible_clear += clear
            if match[row] < 0:
                if r in last_track:
                    missed.add(r)
                continue
            track_id = ids[match[row]]
            person.found += 1
            person.found_clear += clear
            person.id_switches += r in last_track and last_track[r] != track_id
            person.fragmentations += r in missed
            missed.discard(r)
            last_track[r] = track_id
            if track_id not in person.track_ids:
                person.track_ids.append(track_id)
        matched_rows = np.flatnonzero(match >= 0)
        for col in np.setdiff1d(np.arange(len(ids)), match):
            on = (overlap[matched_rows, col] >= IOU_DUPLICATE) | inside[matched_rows, col]
            if on.any():
                best = matched_rows[on][np.argmax(overlap[matched_rows[on], col])]
                people[reference.labels[refs[best]]].duplicates += 1
            else:
                false_positives += 1
    return MultiPersonScore(people, len(predictions), exact, false_positives)
