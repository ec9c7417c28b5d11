"""The lifter on held-out motion capture, streamed through the node's code path from fixed virtual cameras.

Complements the Pose2Sim recording, whose reference is triangulated from a detector: here the 3D truth is
motion capture the model never trained on, so the error of the lifter and the camera placement is measured on
its own. The sequence is sampled at ``fps`` and cut into segments of ``segment_s``; each segment is seen by a
seeded random camera of the training distribution aimed at it (one camera would lose a climber who walks off),
with exact 2D or detector-like noise, and lifted frame by frame as a new track (eval.lifter.lift_sequence).
Frames where a joint leaves the image or comes nearer than 0.5 m are not scored. Motion capture has no images:
a lifter that reads image crops gets crops rendered from each frame's true 3D (data/render.py, the synthetic
images it trained on), cut where the node would cut them, so its figures here are in-domain for its image
branch, unlike on Pose2Sim's real video.

With ``use_floor`` each virtual camera also knows the floor below it: the mocap world's z = 0 plane (z up;
standing ankles at 0.09-0.14 m, toes at 0.01-0.06 m). The climber stands on the floor in some frames and on
holds and a box in others, so the root error is also split by whether the truth has a foot at floor level.
"""

from __future__ import annotations

import numpy as np

from pose3d_ros.camera import ROOT_FROM_FLOOR, CameraModel
from pose3d_ros.data import mocap
from pose3d_ros.data.augment import AugmentConfig, Batch, detector_noise, project, random_cameras, to_camera
from pose3d_ros.eval.baseline import evaluate_view
from pose3d_ros.eval.lifter import lift_sequence
from pose3d_ros.eval.metrics import bone_length_cv, root_error_mm, size_ratio
from pose3d_ros.floor import Floor
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift import LifterRuntime

# A frame has a foot on the floor when the truth's lowest ankle is this low (standing ankles: 0.087-0.137 m).
FOOT_DOWN_M = 0.15


def evaluate_heldout(lifter: LifterRuntime, sequence: int = 4, fps: float = 30.0, segment_s: float = 4.0,
                     noisy: bool = True, seed: int = 0, use_floor: bool = False,
                     consistent_bones: bool = False, world: np.ndarray | None = None) -> dict[str, float | int]:
    """Mean P1, P2 (mm), acceleration error (mm/frame^2), root error (mm) and size ratio over the scored frames of
    the held-out climb ``sequence`` (see pose3d_ros.data.mocap), and how many frames were scored. Also the root
    error over frames with a foot on the floor (root_foot_down_mm) and without (root_raised_mm), and the share
    of scored frames sized by the floor (floor_sized, root source ROOT_FROM_FLOOR; 0 without ``use_floor``), and
    how much each segment's bone lengths vary (bone_cv, metrics.bone_length_cv). ``consistent_bones``: LiftStage's
    option. ``world``: other motion, (N, 17, 3) H36M-17 joints at ``fps`` (metres, z up, floor at 0), in place
    of the climb."""
    if world is None:
        world = mocap.load_sequence(mocap.find_sequences()[sequence])[:: round(mocap.MOCAP_FPS / fps)]
    length = round(segment_s * fps)
    segments = world[: len(world) // length * length].reshape(-1, length, *world.shape[1:])
    rng = np.random.default_rng(seed)
    K, R, centre, sizes = random_cameras(rng, segments, AugmentConfig())
    truth_cam_m = to_camera(segments, R, centre)
    keypoints_px = project(truth_cam_m, K)
    confidence = np.ones(keypoints_px.shape[:-1], np.float32)
    if noisy:
        keypoints_px, confidence = detector_noise(rng, keypoints_px, AugmentConfig())
    visible = ((truth_cam_m[..., 2] > 0.5).all(-1) & (keypoints_px >= 0).all((-1, -2))
               & (keypoints_px < sizes[:, None, None, :]).all((-1, -2)))
    lifted = np.empty_like(truth_cam_m, dtype=np.float32)
    sources = np.empty(visible.shape, int)
    for s in range(len(segments)):
        camera = CameraModel(K[s], int(sizes[s][0]), int(sizes[s][1]))
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = R[s].T, centre[s]
        seen, frames = lifter, None
        if lifter.crop_size:
            seen = _RenderedCrops(lifter, truth_cam_m[s], [seed, s])
            frames = seen.frames(camera)
        lifted[s], sources[s] = lift_sequence(seen, keypoints_px[s].astype(np.float32), confidence[s], camera, fps,
                                              frames, Floor.from_camera_pose(pose) if use_floor else None,
                                              consistent_bones)
    lifted[~visible] = np.nan
    errors = [evaluate_view(lifted[s], truth_cam_m[s]) for s in range(len(segments))]
    root = np.stack([root_error_mm(lifted[s], truth_cam_m[s]) for s in range(len(segments))])
    ankles = [H36M17.index["right_ankle"], H36M17.index["left_ankle"]]
    foot_down = segments[..., ankles, 2].min(axis=-1) < FOOT_DOWN_M
    size = np.stack([size_ratio(lifted[s], truth_cam_m[s], H36M17.bones) for s in range(len(segments))])
    return {"p1_mm": float(np.nanmean(np.concatenate([e.p1_mm for e in errors]))),
            "p2_mm": float(np.nanmean(np.concatenate([e.p2_mm for e in errors]))),
            "accel_mm": float(np.nanmean(np.concatenate([e.accel_mm for e in errors]))),
            "root_mm": float(np.nanmean(root)), "root_foot_down_mm": float(np.nanmean(root[foot_down])),
            "root_raised_mm": float(np.nanmean(root[~foot_down])), "size_ratio": float(np.nanmean(size)),
            "bone_cv": float(np.nanmean([bone_length_cv(lifted[s], H36M17.bones) for s in range(len(segments))])),
            "floor_sized": float((sources[visible] == ROOT_FROM_FLOOR).mean()),
            "frames_scored": int(visible.sum()), "frames": int(visible.size)}


class _RenderedCrops:
    """An image lifter seen through rendered crops: each lift() gets, in place of crops of the (blank) frame,
    crops rendered from the true 3D of the frame being lifted, cut by the same window geometry. Every frame
    of a segment is rendered from the same seed: one person's clothes, background and lighting, as in a video."""

    def __init__(self, lifter: LifterRuntime, truth_cam_m: np.ndarray, seed: list[int]):
        self.lifter, self.truth_cam_m, self.seed = lifter, truth_cam_m, seed
        self.receptive_field, self.layout_name, self.crop_size = lifter.receptive_field, lifter.layout_name, \
            lifter.crop_size
        self.frame = 0

    def frames(self, camera: CameraModel):
        """Blank images of the camera's size, one per frame; reading frame f makes f the one lift() renders."""
        blank = np.zeros((camera.height, camera.width, 3), np.uint8)
        for frame in range(len(self.truth_cam_m)):
            self.frame = frame
            yield blank

    def lift(self, keypoints_px: np.ndarray, confidence: np.ndarray, camera: CameraModel,
             crops: np.ndarray | None = None) -> np.ndarray:
        truth = self.truth_cam_m[self.frame].astype(np.float32)
        batch = Batch(keypoints_px, confidence, np.asarray(camera.K)[None], (truth - truth[:1])[None], truth[None, 0],
                      np.array([[camera.width, camera.height]]))
        from pose3d_ros.data.render import render_crops

        crops = render_crops(np.random.default_rng(self.seed), batch, self.crop_size)
        return self.lifter.lift(keypoints_px, confidence, camera, crops)
