"""Synthetic person crops that carry 3D labels, for lifters that read the image (lift/architectures.py).

    python -m pose3d_ros.data.render --out runs/render_preview.png   # 16 crops, beside them the 2D input

Each window's TRUE newest-frame 3D body (camera frame) becomes a humanoid of shaded capsules, a torso and a
head, drawn straight into the crop the node would cut around the window's (noisy) 2D keypoints
(lift/crops.py), so the crop geometry is the run-time one. Parts are drawn far to near (painter's algorithm:
the nearer limb hides the farther one), limb width follows perspective (radius / depth * focal), parts
darken with depth, the face shows only when the head faces the camera, and left and right limbs get
different colours from a random palette (one sample in four dresses both sides alike, as real clothes do).
Backgrounds are smooth colour fields with clutter (rectangles, limb-like strokes); then blur, brightness,
contrast and sensor noise; crop pixels outside the virtual camera's image are the run-time grey.

Limits: these are cartoons. They carry the cues a real image adds to 2D keypoints (which limb is in front,
perspective thickness, facing direction) but not real clothing, lighting, texture or body shape; the depth
shading is a training aid real images lack.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from pose3d_ros.data.augment import Batch
from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.crops import BORDER_VALUE, crop_affine

SUPERSAMPLE = 2  # drawn at twice the crop size, then area-averaged: anti-aliased, half-pixel limb widths
SHIFT = 4  # cv2 fixed-point bits: sub-pixel joint positions
TORSO, LEFT_ARM, RIGHT_ARM, LEFT_LEG, RIGHT_LEG, SKIN, HAIR = range(7)  # palette entries
DEPTH_SHADE_PER_M = 0.6  # brightness lost per metre behind the pelvis
HEAD_RADIUS_M, FACE_RADIUS_M = 0.11, 0.075

_J = H36M17.index
# Body parts as (capsules (joint a, joint b, radius m), palette entry, joints whose mean depth orders it).
PARTS = (
    (((_J["left_hip"], _J["right_hip"], 0.09), (_J["left_shoulder"], _J["right_shoulder"], 0.07),
      (_J["pelvis"], _J["spine"], 0.13), (_J["spine"], _J["thorax"], 0.13)), TORSO,
     (_J["left_hip"], _J["right_hip"], _J["left_shoulder"], _J["right_shoulder"])),
    (((_J["thorax"], _J["neck_nose"], 0.05),), SKIN, (_J["thorax"], _J["neck_nose"])),
    (((_J["left_shoulder"], _J["left_elbow"], 0.055),), LEFT_ARM, (_J["left_shoulder"], _J["left_elbow"])),
    (((_J["left_elbow"], _J["left_wrist"], 0.045),), LEFT_ARM, (_J["left_elbow"], _J["left_wrist"])),
    (((_J["right_shoulder"], _J["right_elbow"], 0.055),), RIGHT_ARM, (_J["right_shoulder"], _J["right_elbow"])),
    (((_J["right_elbow"], _J["right_wrist"], 0.045),), RIGHT_ARM, (_J["right_elbow"], _J["right_wrist"])),
    (((_J["left_hip"], _J["left_knee"], 0.08),), LEFT_LEG, (_J["left_hip"], _J["left_knee"])),
    (((_J["left_knee"], _J["left_ankle"], 0.06),), LEFT_LEG, (_J["left_knee"], _J["left_ankle"])),
    (((_J["right_hip"], _J["right_knee"], 0.08),), RIGHT_LEG, (_J["right_hip"], _J["right_knee"])),
    (((_J["right_knee"], _J["right_ankle"], 0.06),), RIGHT_LEG, (_J["right_knee"], _J["right_ankle"])),
)
_FIRST_CAPSULE = np.cumsum([0] + [len(c) for c, _, _ in PARTS]).tolist()  # part -> its first capsule's index
TORSO_QUAD = (_J["left_shoulder"], _J["right_shoulder"], _J["right_hip"], _J["left_hip"])
HANDS = {3: _J["left_wrist"], 5: _J["right_wrist"]}  # forearm part -> wrist joint: a skin ball ends it
HAND_RADIUS_M = 0.045
HEAD = len(PARTS)  # the head and face are one more part, ordered by the head centre's depth


def render_crops(rng: np.random.Generator, batch: Batch, size: int) -> np.ndarray:
    """Rendered crops of each window's newest frame: (B, 3, size, size) float32 RGB in [0, 1].

    The body is batch.joints_cam_m + batch.root_cam_m (true 3D, camera frame) seen through batch.K; the crop
    is crop_affine of batch.keypoints_px / batch.confidence (the noisy 2D), exactly as at run time.
    """
    if batch.root_cam_m is None:
        raise ValueError("batch has no root_cam_m; render_crops needs each window's pelvis position "
                         "(pose3d_ros.data.augment.synthesize sets it)")
    b, s2 = len(batch.joints_cam_m), size * SUPERSAMPLE
    joints_cam = batch.joints_cam_m.astype(np.float64) + batch.root_cam_m[:, None].astype(np.float64)
    affine = crop_affine(batch.keypoints_px, batch.confidence, batch.K, size)
    focal_px = affine[:, 0, 0] * batch.K[:, 0, 0] * SUPERSAMPLE  # supersampled crop pixels per unit x / z
    pixel_gain = (affine[:, :, :2] @ batch.K[:, :2, :2]) * SUPERSAMPLE  # (B, 2, 2) from x / z to crop pixels
    pixel_offset = (np.einsum("bij,bj->bi", affine[:, :, :2], batch.K[:, :2, 2]) + affine[:, :, 2] + 0.5
                    ) * SUPERSAMPLE - 0.5  # cv2 pixel centres are integers at both resolutions

    def to_crop(points_cam: np.ndarray) -> np.ndarray:
        """(B, N, 3) camera frame -> (B, N, 2) supersampled crop pixels."""
        z = np.maximum(points_cam[..., 2:], 0.1)
        px = np.einsum("bij,bnj->bni", pixel_gain, points_cam[..., :2] / z) + pixel_offset[:, None]
        return np.clip(px, -1e4, 1e4)  # cv2 takes int32 fixed-point coordinates

    head_centre = 0.5 * (joints_cam[:, _J["head"]] + joints_cam[:, _J["neck_nose"]])
    face_centre = head_centre + 0.6 * (joints_cam[:, _J["neck_nose"]] - head_centre)
    balls_cam = np.stack([head_centre, face_centre], axis=1)
    depth = np.maximum(joints_cam[..., 2], 0.1)
    ball_depth = np.maximum(balls_cam[..., 2], 0.1)
    fixed = float(1 << SHIFT)
    points = np.round(to_crop(joints_cam) * fixed).astype(np.int64).tolist()
    balls = np.round(to_crop(balls_cam) * fixed).astype(np.int64).tolist()
    ball_px = (np.array([HEAD_RADIUS_M, FACE_RADIUS_M]) / ball_depth * focal_px[:, None] * fixed).astype(np.int64)
    face_visible = (face_centre[:, 2] < head_centre[:, 2]).tolist()
    # Per-capsule width in whole supersampled pixels (cv2's thick lines have round caps: capsules).
    ends_a, ends_b, radius = np.array([cap for capsules, _, _ in PARTS for cap in capsules]).T
    mean_depth = (depth[:, ends_a.astype(int)] + depth[:, ends_b.astype(int)]) / 2
    widths = np.maximum(np.round(2 * radius * focal_px[:, None] / mean_depth), 1).astype(int).tolist()
    hand_px = (HAND_RADIUS_M / depth * focal_px[:, None] * fixed).astype(np.int64).tolist()

    part_depth = np.stack([depth[:, list(order)].mean(1) for _, _, order in PARTS] + [ball_depth[:, 0]], axis=1)
    draw_order = np.argsort(-part_depth, axis=1).tolist()  # far to near
    shade = np.clip(1.0 - DEPTH_SHADE_PER_M * (part_depth - depth[:, :1]), 0.55, 1.35)
    shade = shade * rng.uniform(0.7, 1.2, (b, 1))  # overall light level
    palette = _palettes(rng, b)  # (B, 7, 3)
    groups = np.array([g for _, g, _ in PARTS] + [HAIR])
    inner = np.clip(palette[:, groups] * shade[..., None], 0, 255)  # (B, P + 1, 3) lit core of each part
    outer = (0.65 * inner).astype(np.uint8).tolist()  # darker rim: a cylinder-like look
    inner = inner.astype(np.uint8).tolist()
    skin = np.clip(palette[:, SKIN, None] * shade[..., None], 0, 255).astype(np.uint8).tolist()

    images = _backgrounds(rng, b, s2)
    aa = cv2.LINE_AA
    for i in range(b):
        img, p, w = images[i], points[i], widths[i]
        for part in draw_order[i]:
            if part == HEAD:
                (hx, hy), (fx, fy) = balls[i]
                cv2.circle(img, (hx, hy), int(ball_px[i, 0]), outer[i][part], -1, aa, SHIFT)
                cv2.circle(img, (hx, hy), int(0.8 * ball_px[i, 0]), inner[i][part], -1, aa, SHIFT)
                if face_visible[i]:
                    cv2.circle(img, (fx, fy), int(ball_px[i, 1]), skin[i][part], -1, aa, SHIFT)
                continue
            capsules, _, _ = PARTS[part]
            k0 = _FIRST_CAPSULE[part]
            if part == 0:
                cv2.fillPoly(img, [np.array([p[j] for j in TORSO_QUAD], np.int32)], outer[i][part], aa, SHIFT)
            for k, (a, c, _) in enumerate(capsules):
                cv2.line(img, p[a], p[c], outer[i][part], w[k0 + k], aa, SHIFT)
            for k, (a, c, _) in enumerate(capsules):
                cv2.line(img, p[a], p[c], inner[i][part], max(1, w[k0 + k] // 2), aa, SHIFT)
            if part in HANDS:
                cv2.circle(img, p[HANDS[part]], hand_px[i][HANDS[part]], skin[i][part], -1, aa, SHIFT)
    crops = np.stack([cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA) for img in images])
    return _camera_effects(rng, crops, affine, batch.image_size).transpose(0, 3, 1, 2).copy()


def _palettes(rng: np.random.Generator, b: int) -> np.ndarray:
    """(B, 7, 3) float RGB 0..255: random clothes, skin and hair; left and right alike in one sample of four."""
    hsv = np.empty((b, 7, 3))
    hsv[..., 0] = rng.uniform(0, 180, (b, 7))
    hsv[..., 1] = rng.uniform(0, 255, (b, 7))
    hsv[..., 2] = rng.uniform(60, 255, (b, 7))
    hsv[:, SKIN] = np.stack([rng.uniform(5, 25, b), rng.uniform(50, 170, b), rng.uniform(70, 250, b)], 1)
    hsv[:, HAIR, 2] = rng.uniform(20, 200, b)
    alike = rng.random(b) < 0.25
    hsv[alike, RIGHT_ARM], hsv[alike, RIGHT_LEG] = hsv[alike, LEFT_ARM], hsv[alike, LEFT_LEG]
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float64)


def _backgrounds(rng: np.random.Generator, b: int, side: int) -> list[np.ndarray]:
    """b contiguous (side, side, 3) uint8 scenes: a smooth colour field plus rectangles and limb-like strokes."""
    coarse = rng.integers(0, 256, (b, 3, 3, 3), dtype=np.uint8)
    flat = rng.random(b) < 0.3  # plain walls
    coarse[flat] = coarse[flat, :1, :1]
    images = []
    for i in range(b):
        img = cv2.resize(coarse[i], (side, side), interpolation=cv2.INTER_LINEAR)
        for _ in range(rng.integers(0, 6)):
            x0, y0, x1, y1 = rng.integers(-side // 4, side + side // 4, 4).tolist()
            cv2.rectangle(img, (x0, y0), (x1, y1), rng.integers(0, 256, 3).tolist(), -1)
        for _ in range(rng.integers(0, 3)):  # distractors: the body is not the only capsule in a scene
            x0, y0, x1, y1 = rng.integers(0, side, 4).tolist()
            cv2.line(img, (x0, y0), (x1, y1), rng.integers(0, 256, 3).tolist(), int(rng.integers(2, max(side // 6, 3))),
                     cv2.LINE_AA)
        images.append(img)
    return images


def _camera_effects(rng: np.random.Generator, crops: np.ndarray, affine: np.ndarray,
                    image_size: np.ndarray | None) -> np.ndarray:
    """(B, S, S, 3) uint8 -> float32 in [0, 1]: blur, contrast, brightness, noise; grey beyond the image."""
    b, size = crops.shape[:2]
    for i in np.flatnonzero(rng.random(b) < 0.3):
        crops[i] = cv2.GaussianBlur(crops[i], (0, 0), rng.uniform(0.3, 1.0))
    out = crops.astype(np.float32) * np.float32(1 / 255)
    contrast = rng.uniform(0.6, 1.2, (b, 1, 1, 1)).astype(np.float32)
    out = (out - 0.5) * contrast + 0.5 + rng.uniform(-0.15, 0.15, (b, 1, 1, 1)).astype(np.float32)
    out += rng.uniform(0.0, 0.04, (b, 1, 1, 1)).astype(np.float32) * rng.standard_normal(out.shape, np.float32)
    if image_size is not None:  # crop pixels whose centre maps outside the image: the run-time border grey
        pixel = np.arange(size, dtype=np.float64)
        inside = []
        for axis in range(2):
            u = (pixel[None] - affine[:, axis, 2:3]) / affine[:, axis, axis:axis + 1]
            inside.append((u >= -0.5) & (u <= image_size[:, axis:axis + 1] - 0.5))
        out = np.where((inside[1][:, :, None] & inside[0][:, None, :])[..., None], out, np.float32(BORDER_VALUE))
    return np.clip(out, 0.0, 1.0)


def main(argv: list[str] | None = None) -> None:
    from pose3d_ros.data import mocap
    from pose3d_ros.data.augment import AugmentConfig, synthesize
    from pose3d_ros.render import contact_sheet, draw_skeleton_2d, save_png

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/render_preview.png", help="contact sheet PNG to write")
    parser.add_argument("--size", type=int, default=64, help="crop side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    sequences = [mocap.load_sequence(p) for p in mocap.find_sequences().values()]
    batch = synthesize(rng, sequences, 16, 1, AugmentConfig())
    crops = render_crops(rng, batch, args.size)
    affine = crop_affine(batch.keypoints_px, batch.confidence, batch.K, args.size)
    zoom = max(1, 192 // args.size)
    tiles = []
    for crop, a, kp, conf in zip(crops, affine, batch.keypoints_px[:, -1], batch.confidence[:, -1]):
        tile = cv2.resize(np.round(255 * crop.transpose(1, 2, 0)).astype(np.uint8), None, fx=zoom, fy=zoom,
                          interpolation=cv2.INTER_NEAREST)
        crop_px = kp @ a[:, :2].T + a[:, 2]  # the noisy 2D input the lifter gets, in crop pixels
        overlay = tile.copy()
        draw_skeleton_2d(overlay, (crop_px + 0.5) * zoom - 0.5, conf, H36M17, min_confidence=1e-3)
        tiles += [tile, overlay]
    print(f"wrote {save_png(args.out, contact_sheet(tiles, columns=8))}: 16 rendered {args.size}px crops, each "
          "beside itself with the 2D input drawn on (the lighter side is left)")


if __name__ == "__main__":
    main()
