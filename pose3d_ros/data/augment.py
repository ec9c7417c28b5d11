"""Training windows from world-frame 3D motion: frame-rate and bone-length changes, limb rotations, upper and
lower bodies recombined across clips, mirroring, random virtual pinhole cameras, and detector-like 2D noise.

World frames are z up (metres). Camera frames are the optical frame: x right, y down, z forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pose3d_ros.layouts import H36M17

IMAGE_SIZES = ((640, 480), (1280, 720), (1920, 1080), (720, 1280))


@dataclass(frozen=True)
class AugmentConfig:
    frame_steps: tuple[int, ...] = (2, 3, 4, 5, 6)  # source frames per window frame: 120 Hz mocap -> 20..60 fps
    new_track_prob: float = 0.1  # windows whose start repeats one frame, as the caller pads a young track
    height_scale: tuple[float, float] = (0.85, 1.15)
    bone_scale_std: float = 0.06
    mirror_prob: float = 0.5
    # Each limb (arm from the shoulder, leg from the hip) of a window is turned, with this probability, about its
    # root joint by one random rotation of up to limb_rotation_deg, the same in every frame: new poses (a leg
    # raised sideways, an arm swung across) from little motion data, with the motion's timing intact.
    # 0 = off, which keeps the draws, and so the trainings, of configs that predate it unchanged.
    limb_rotation_prob: float = 0.0
    limb_rotation_deg: float = 60.0
    focal_per_size: tuple[float, float] = (0.45, 1.4)  # focal length / larger image side
    distance_m: tuple[float, float] = (2.0, 8.0)
    camera_height_m: tuple[float, float] = (0.3, 2.6)
    aim_jitter_m: float = 0.4
    roll_std_deg: float = 4.0
    noise_per_height: tuple[float, float] = (0.0, 0.015)  # 2D jitter std / person's 2D height
    drop_prob: tuple[float, float] = (0.0, 0.08)
    outlier_prob: float = 0.01
    confidence: tuple[float, float] = (0.4, 1.0)
    # Detector noise in time, as measured on BlazePose (python -m pose3d_ros.eval.detector_noise): most of its
    # error is a slow drift (AR(1), phi ~0.91 per 30 fps frame), whole-body left/right flips last up to ~0.5 s,
    # and an occluded forearm or shin comes with low confidence and extra error for ~10 frames.
    # All 0 = off, which keeps the draws, and so the trainings, of configs that predate them unchanged.
    drift_per_height: tuple[float, float] = (0.0, 0.0)  # stationary std of each joint's drift / 2D height
    drift_phi: float = 0.91  # the drift's AR(1) coefficient per window frame
    flip_prob: float = 0.0  # windows with one burst of whole-body left/right flips
    flip_frames: tuple[int, int] = (1, 17)  # its length in window frames
    occlusion_prob: float = 0.0  # windows with one forearm or shin occluded for a burst
    occlusion_frames: tuple[int, int] = (3, 15)
    occlusion_confidence: tuple[float, float] = (0.1, 0.5)
    occlusion_error: float = 0.05  # extra error std of occluded joints / 2D height
    # Windows whose upper body (spine up, arms, head) comes from another window, turned to face the same way:
    # poses no clip has (a climber's legs under a dancer's arms). 0 = off.
    recombine_prob: float = 0.0


def window_indices(rng: np.random.Generator, lengths: np.ndarray, seq: np.ndarray, window: int,
                   cfg: AugmentConfig) -> np.ndarray:
    """Source frame indices (B, window), oldest first, ending on a random frame; before frame 0 repeats frame 0."""
    end = (rng.random(len(seq)) * lengths[seq]).astype(int)
    step = rng.choice(cfg.frame_steps, size=len(seq))
    idx = end[:, None] - step[:, None] * np.arange(window - 1, -1, -1)[None]
    young = rng.random(len(seq)) < cfg.new_track_prob
    first = np.where(young, rng.integers(0, window, len(seq)), 0)
    idx = np.maximum(idx, np.take_along_axis(idx, first[:, None], 1))
    return np.maximum(idx, 0)


def causal_windows(sequence: np.ndarray, window: int) -> np.ndarray:
    """(N, ...) -> (N, window, ...): window n ends on frame n; frames before 0 repeat frame 0 (the caller's padding)."""
    idx = np.maximum(np.arange(len(sequence))[:, None] + np.arange(-window + 1, 1)[None], 0)
    return sequence[idx]


def scale_bones(rng: np.random.Generator, joints: np.ndarray, cfg: AugmentConfig) -> np.ndarray:
    """Rescale every bone (left/right alike) and the whole body: (B, T, 17, 3) -> same shape."""
    b = joints.shape[0]
    flip = H36M17.flip_permutation()
    per_joint = 1.0 + cfg.bone_scale_std * rng.standard_normal((b, H36M17.num_joints))
    per_joint = 0.5 * (per_joint + per_joint[:, flip])
    per_joint *= rng.uniform(*cfg.height_scale, size=(b, 1))
    out = joints.copy()
    for parent, child in H36M17.bones:  # bones are listed parent-first, so parents are already moved
        bone = joints[:, :, child] - joints[:, :, parent]
        out[:, :, child] = out[:, :, parent] + bone * per_joint[:, None, child, None]
    return out


LIMBS = tuple(tuple(H36M17.index[f"{side}_{joint}"] for joint in joints)
              for side in ("left", "right") for joints in (("hip", "knee", "ankle"), ("shoulder", "elbow", "wrist")))


def rotation_matrices(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rodrigues: unit axes (..., 3) and angles (...) in radians -> rotation matrices (..., 3, 3)."""
    x, y, z = np.moveaxis(axis, -1, 0)
    zero = np.zeros_like(x)
    cross = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(*x.shape, 3, 3)
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * cross + (1.0 - c) * cross @ cross


def rotate_limbs(rng: np.random.Generator, joints: np.ndarray, cfg: AugmentConfig) -> np.ndarray:
    """Turn some limbs about their root joint, one fixed random rotation per limb and window: (B, T, 17, 3)."""
    b = joints.shape[0]
    axis = rng.standard_normal((b, len(LIMBS), 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    angle = np.radians(rng.uniform(0.0, cfg.limb_rotation_deg, (b, len(LIMBS))))
    angle *= rng.random((b, len(LIMBS))) < cfg.limb_rotation_prob
    rot = rotation_matrices(axis, angle)  # (B, limbs, 3, 3)
    out = joints.copy()
    for limb, (root, *chain) in enumerate(LIMBS):
        offsets = joints[:, :, chain] - joints[:, :, root, None]  # (B, T, 2, 3)
        out[:, :, chain] = joints[:, :, root, None] + offsets @ rot[:, None, limb].swapaxes(-1, -2)
    return out


UPPER_BODY = tuple(H36M17.index[n] for n in ("spine", "thorax", "neck_nose", "head", "left_shoulder", "left_elbow",
                                             "left_wrist", "right_shoulder", "right_elbow", "right_wrist"))


def facing_yaw(joints: np.ndarray) -> np.ndarray:
    """Heading (radians about world z) of the hip line, left hip to right hip: (..., 17, 3) -> (...)."""
    hips = joints[..., H36M17.index["right_hip"], :] - joints[..., H36M17.index["left_hip"], :]
    return np.arctan2(hips[..., 1], hips[..., 0])


def recombine(rng: np.random.Generator, joints: np.ndarray, donors: np.ndarray, cfg: AugmentConfig) -> np.ndarray:
    """Give some windows the upper body of a donor window, frame by frame: the donor's upper body relative to its
    pelvis, turned about z so that its hips face the receiver's way, on the receiver's pelvis. (B, T, 17, 3)."""
    take = rng.random(joints.shape[0]) < cfg.recombine_prob
    turn = facing_yaw(joints) - facing_yaw(donors)  # (B, T)
    c, s = np.cos(turn)[..., None], np.sin(turn)[..., None]
    upper = donors[:, :, UPPER_BODY] - donors[:, :, :1]
    turned = np.stack([c * upper[..., 0] - s * upper[..., 1], s * upper[..., 0] + c * upper[..., 1], upper[..., 2]],
                      axis=-1)
    out = joints.copy()
    out[:, :, UPPER_BODY] = np.where(take[:, None, None, None], joints[:, :, :1] + turned, joints[:, :, UPPER_BODY])
    return out


def mirror(rng: np.random.Generator, joints: np.ndarray, cfg: AugmentConfig) -> np.ndarray:
    """Mirror some windows in the world's x-z plane and swap left/right joints: (B, T, 17, 3)."""
    flip = rng.random(joints.shape[0]) < cfg.mirror_prob
    mirrored = joints[:, :, H36M17.flip_permutation()] * np.array([1.0, -1.0, 1.0])
    return np.where(flip[:, None, None, None], mirrored, joints)


def random_cameras(rng: np.random.Generator, joints: np.ndarray, cfg: AugmentConfig):
    """Cameras around each window's person, looking at its mean pelvis.

    joints: (B, T, 17, 3) world. Returns K (B, 3, 3), R (B, 3, 3) world->camera, centre (B, 3) world,
    image sizes (B, 2) as (width, height).
    """
    b = joints.shape[0]
    size = np.array(IMAGE_SIZES)[rng.integers(0, len(IMAGE_SIZES), b)]
    focal = rng.uniform(*cfg.focal_per_size, size=b) * size.max(1)
    K = np.zeros((b, 3, 3))
    K[:, 0, 0] = K[:, 1, 1] = focal
    K[:, :2, 2] = size / 2.0 + 0.02 * size * rng.standard_normal((b, 2))
    K[:, 2, 2] = 1.0

    target = joints[:, :, 0].mean(1) + cfg.aim_jitter_m * rng.standard_normal((b, 3))
    yaw = rng.uniform(0.0, 2 * np.pi, b)
    dist = rng.uniform(*cfg.distance_m, size=b)
    centre = np.stack([target[:, 0] + dist * np.cos(yaw), target[:, 1] + dist * np.sin(yaw),
                       rng.uniform(*cfg.camera_height_m, size=b)], axis=1)

    forward = target - centre
    forward /= np.linalg.norm(forward, axis=1, keepdims=True)
    right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right, axis=1, keepdims=True)
    down = np.cross(forward, right)
    roll = np.deg2rad(cfg.roll_std_deg) * rng.standard_normal(b)
    c, s = np.cos(roll)[:, None], np.sin(roll)[:, None]
    R = np.stack([c * right + s * down, -s * right + c * down, forward], axis=1)
    return K, R, centre, size


def to_camera(joints_world: np.ndarray, R: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """(B, T, J, 3) world -> (B, T, J, 3) camera optical frame."""
    return np.einsum("bij,btkj->btki", R, joints_world - centre[:, None, None, :])


def project(joints_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection (B, T, J, 3) camera -> (B, T, J, 2) pixels; depth clamped to 0.1 m."""
    z = np.maximum(joints_cam[..., 2:], 0.1)
    xy = joints_cam[..., :2] / z
    return xy * K[:, None, None, [0, 1], [0, 1]] + K[:, None, None, [0, 1], [2, 2]]


def detector_noise(rng: np.random.Generator, keypoints_px: np.ndarray, cfg: AugmentConfig):
    """Gaussian jitter scaled to the person's 2D height, outliers and dropped joints.

    keypoints_px: (B, T, J, 2). Returns (noisy keypoints (B, T, J, 2), confidence (B, T, J)).
    """
    b, t, j, _ = keypoints_px.shape
    height = np.ptp(keypoints_px[:, -1, :, 1], axis=1)
    sigma = rng.uniform(*cfg.noise_per_height, size=b) * np.maximum(height, 1.0)
    noisy = keypoints_px + sigma[:, None, None, None] * rng.standard_normal(keypoints_px.shape)
    outlier = rng.random((b, t, j)) < cfg.outlier_prob
    noisy += outlier[..., None] * 0.1 * height[:, None, None, None] * rng.standard_normal(keypoints_px.shape)
    confidence = rng.uniform(*cfg.confidence, size=(b, t, j))
    confidence = np.where(outlier, 0.5 * confidence, confidence)
    dropped = rng.random((b, t, j)) < rng.uniform(*cfg.drop_prob, size=(b, 1, 1))
    confidence = np.where(dropped, 0.0, confidence)
    if cfg.drift_per_height[1] > 0:
        noisy += rng.uniform(*cfg.drift_per_height, size=(b, 1, 1, 1)) * height[:, None, None, None] * ar1(
            rng, (b, t, j, 2), cfg.drift_phi)
    if cfg.flip_prob > 0:
        flipped = bursts(rng, b, t, cfg.flip_prob, cfg.flip_frames)  # (B, T)
        noisy = np.where(flipped[..., None, None], noisy[:, :, H36M17.flip_permutation()], noisy)
    if cfg.occlusion_prob > 0:
        occluded = bursts(rng, b, t, cfg.occlusion_prob, cfg.occlusion_frames)[..., None] & _limb_mask(rng, b, j)
        noisy += (occluded[..., None] * cfg.occlusion_error * height[:, None, None, None]
                  * rng.standard_normal(noisy.shape))
        confidence = np.where(occluded, rng.uniform(*cfg.occlusion_confidence, size=(b, t, j)), confidence)
    return noisy, confidence.astype(np.float32)


def ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float) -> np.ndarray:
    """Unit-variance stationary AR(1) series along axis 1 of ``shape``: a slowly drifting offset per joint."""
    x = np.empty(shape)
    x[:, 0] = rng.standard_normal((shape[0], *shape[2:]))
    innovation = np.sqrt(1.0 - phi**2) * rng.standard_normal(shape)
    for i in range(1, shape[1]):
        x[:, i] = phi * x[:, i - 1] + innovation[:, i]
    return x


def bursts(rng: np.random.Generator, b: int, t: int, prob: float, frames: tuple[int, int]) -> np.ndarray:
    """(B, T) bool: in a ``prob`` share of windows, one run of frames[0]..frames[1] frames, placed so that it is
    as likely to cover the newest frame (the one the lifter answers for) as any other."""
    length = rng.integers(frames[0], frames[1] + 1, b)
    end = rng.integers(0, t + length)  # exclusive end; runs may start before the window or end after it
    frame = np.arange(t)[None]
    return (rng.random(b) < prob)[:, None] & (frame < end[:, None]) & (frame >= (end - length)[:, None])


DISTAL = tuple((H36M17.index[f"{side}_{a}"], H36M17.index[f"{side}_{b}"])
               for side in ("left", "right") for a, b in (("elbow", "wrist"), ("knee", "ankle")))


def _limb_mask(rng: np.random.Generator, b: int, j: int) -> np.ndarray:
    """(B, 1, J) bool: one forearm or shin (its two joints) per window."""
    mask = np.zeros((b, 1, j), bool)
    limb = np.array(DISTAL)[rng.integers(0, len(DISTAL), b)]  # (B, 2)
    mask[np.arange(b)[:, None], 0, limb] = True
    return mask


@dataclass(frozen=True)
class Batch:
    """What a camera + 2D detector would give for B windows, and the 3D answer for each newest frame."""

    keypoints_px: np.ndarray  # (B, T, 17, 2) float32
    confidence: np.ndarray  # (B, T, 17) float32
    K: np.ndarray  # (B, 3, 3) float64 intrinsics
    joints_cam_m: np.ndarray  # (B, 17, 3) float32, newest frame, camera frame, pelvis at 0
    root_cam_m: np.ndarray | None = None  # (B, 3) float32, newest frame's pelvis in the camera frame
    image_size: np.ndarray | None = None  # (B, 2) int (width, height) of each virtual camera's image
    recent_cam_m: np.ndarray | None = None  # (B, H, 17, 3) float32, the last H frames' joints, pelvis at 0


def synthesize(rng: np.random.Generator, sequences: list[np.ndarray], batch: int, window: int,
               cfg: AugmentConfig, recent: int = 0) -> Batch:
    """Draw ``batch`` augmented windows of ``window`` frames from world-frame sequences [(N, 17, 3), ...];
    ``recent`` > 0 also gives the true joints of the last ``recent`` frames (Batch.recent_cam_m)."""
    lengths = np.array([len(s) for s in sequences])
    seq = rng.choice(len(sequences), size=batch, p=lengths / lengths.sum())
    idx = window_indices(rng, lengths, seq, window, cfg)
    joints = np.stack([sequences[s][i] for s, i in zip(seq, idx)]).astype(np.float64)
    if cfg.recombine_prob > 0:
        donor_seq = rng.choice(len(sequences), size=batch, p=lengths / lengths.sum())
        donor_idx = window_indices(rng, lengths, donor_seq, window, cfg)
        joints = recombine(rng, joints, np.stack([sequences[s][i] for s, i in zip(donor_seq, donor_idx)]), cfg)
    if cfg.limb_rotation_prob > 0:
        joints = rotate_limbs(rng, joints, cfg)
    joints = mirror(rng, scale_bones(rng, joints, cfg), cfg)
    K, R, centre, size = random_cameras(rng, joints, cfg)
    joints_cam = to_camera(joints, R, centre)
    keypoints_px, confidence = detector_noise(rng, project(joints_cam, K), cfg)
    target = joints_cam[:, -1] - joints_cam[:, -1, :1]
    recent_cam_m = (joints_cam[:, -recent:] - joints_cam[:, -recent:, :1]).astype(np.float32) if recent else None
    return Batch(keypoints_px.astype(np.float32), confidence, K, target.astype(np.float32),
                 joints_cam[:, -1, 0].astype(np.float32), size, recent_cam_m)
