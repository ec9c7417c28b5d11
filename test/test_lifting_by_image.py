"""Lifting by Image: shapes, stage-2 freezing and loading, feature selection, the pose-guided bound, the
renderer's geometry, and ONNX export with torch / ONNX Runtime parity."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pose3d_ros.data.augment import Batch, project
from pose3d_ros.data.render import render_crops
from pose3d_ros.lift import make_lifter
from pose3d_ros.lift.crops import CROP_EXTENT, crop_affine
from pose3d_ros.lift.lifting_by_image import LiftingByImage, LiftingByImageConfig

TINY = {"dim": 16, "heads": 2, "encoder_channels": [4, 8, 16], "crop_size": 32}
STAGE2_ONLY = ("stage2.", "norm2.", "head2.")
# A standing person, root-relative metres in the camera's optical frame (x right, y down, z away); H36M-17 order.
STANDING_M = np.array([
    [0, 0, 0], [-0.12, 0, 0], [-0.13, 0.45, 0.02], [-0.14, 0.88, 0], [0.12, 0, 0], [0.13, 0.45, 0.02],
    [0.14, 0.88, 0], [0, -0.23, 0], [0, -0.48, 0], [0, -0.58, -0.08], [0, -0.7, 0], [0.18, -0.47, 0],
    [0.35, -0.3, 0], [0.5, -0.1, -0.15], [-0.18, -0.47, 0], [-0.32, -0.25, -0.1], [-0.3, -0.02, -0.3],
], np.float32)


def randomise_heads(model: LiftingByImage) -> LiftingByImage:
    """Zero-initialised heads would make every output 0; give them weights so comparisons mean something."""
    for name, p in model.named_parameters():
        if name.startswith(("head1.", "head2.")):
            torch.nn.init.normal_(p.data, std=0.3)
    return model


@pytest.mark.parametrize("stage", [1, 2])
def test_shapes_root_and_window_length(stage):
    model = randomise_heads(LiftingByImage(LiftingByImageConfig(stage=stage))).eval()
    window = torch.randn(3, 1, 17, 3)
    out = model(window, torch.rand(3, 3, 64, 64))
    assert out.shape == (3, 17, 3) and torch.isfinite(out).all()
    assert torch.all(out[:, 0] == 0) and out.abs().max() > 0
    assert (model(window, torch.rand(3, 3, 64, 64)) - out).abs().max() > 1e-4  # the image is read
    with pytest.raises(ValueError, match="needs exactly 1"):
        model(torch.randn(3, 2, 17, 3), torch.rand(3, 3, 64, 64))
    with pytest.raises(ValueError, match="single-frame"):
        LiftingByImageConfig(receptive_field=27)


def test_stage2_freezes_stage1_and_loads_its_weights():
    stage1 = LiftingByImage(LiftingByImageConfig(**TINY, stage=1))
    stage2 = LiftingByImage(LiftingByImageConfig(**TINY, stage=2))
    missing, unexpected = stage2.load_state_dict(stage1.state_dict(), strict=False)
    assert unexpected == [] and missing and all(k.startswith(STAGE2_ONLY) for k in missing)
    for name, p in stage2.named_parameters():
        assert p.requires_grad == name.startswith(STAGE2_ONLY), name
    assert {k for k, _ in stage2.named_parameters()} - {k for k, _ in stage1.named_parameters()} == {
        k for k in stage2.state_dict() if k.startswith(STAGE2_ONLY)}

    # Training stage 2 leaves stage 1 exactly as loaded, batch-norm running statistics included.
    before = {k: v.clone() for k, v in stage2.state_dict().items() if not k.startswith(STAGE2_ONLY)}
    stage2.train()
    optimizer = torch.optim.AdamW([p for p in stage2.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        loss = stage2(torch.randn(4, 1, 17, 3), torch.rand(4, 3, 32, 32)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for k, v in stage2.state_dict().items():
        if k in before:
            assert torch.equal(v, before[k]), k
    # Stage 2 starts from stage 1's answer: its zero-initialised head adds nothing yet.
    fresh = LiftingByImage(LiftingByImageConfig(**TINY, stage=2))
    fresh.load_state_dict(randomise_heads(stage1).state_dict(), strict=False)
    window, image = torch.randn(2, 1, 17, 3), torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(fresh.eval()(window, image), stage1.eval()(window, image))


@pytest.mark.parametrize("keep_ratio, crop_size, kept", [(0.3, 64, 20), (0.5, 32, 8), (0.1, 32, 2), (1.0, 32, 16)])
def test_feature_selection_keeps_the_most_attended_share(keep_ratio, crop_size, kept):
    cfg = LiftingByImageConfig(**{**TINY, "crop_size": crop_size}, stage=2, keep_ratio=keep_ratio)
    assert kept == math.ceil(keep_ratio * (crop_size // 8) ** 2)
    model = LiftingByImage(cfg).eval()
    calls: dict[str, list] = {"stage1": [], "stage2": []}  # (image tokens, cross-attention weights) per layer

    def record(stage: str):
        def hook(module, args, out) -> None:
            calls[stage].append((args[1], out[1]))
        return hook

    for layer in model.stage1:
        layer.register_forward_hook(record("stage1"))
    model.stage2[0].register_forward_hook(record("stage2"))
    model(torch.randn(5, 1, 17, 3), torch.rand(5, 3, crop_size, crop_size))

    kept_tokens = calls["stage2"][0][0]
    assert kept_tokens.shape == (5, kept, cfg.dim)
    received = sum(w.sum(dim=(1, 2)) for _, w in calls["stage1"])  # (B, N) attention each patch received
    tokens = calls["stage1"][0][0]
    expected = tokens.gather(1, received.topk(kept, dim=1).indices[:, :, None].expand(-1, -1, cfg.dim))
    torch.testing.assert_close(kept_tokens, expected)


def test_pose_guided_layer_bounds_far_patches():
    """With identical patches, a joint's output depends more on the patch under it than on a far one.

    Without the pose-guided bias every patch would get the same attention and the same influence.
    """
    cfg = LiftingByImageConfig(**TINY)  # crop 32: a 4 x 4 patch grid
    model = LiftingByImage(cfg).eval()
    pose = torch.zeros(1, 17, 3)
    pose[0, :, 2] = 1.0
    # Joint 13 at crop pixel (4, 28): patch column 0, row 3 (index 12); the pelvis at the centre.
    pose[0, 13, :2] = torch.tensor([4.0, 28.0]) * 2 * CROP_EXTENT / cfg.crop_size - CROP_EXTENT
    bias = model.pose_guide(pose)
    assert bias[0, :, 13].argmax(-1).eq(12).all()

    tokens = torch.randn(1, 1, cfg.dim).expand(1, 16, cfg.dim).clone().requires_grad_(True)
    joints = torch.randn(1, 17, cfg.dim)
    out = model.stage1[1](joints, tokens, bias)[0]
    (grad,) = torch.autograd.grad(out[0, 13].square().sum(), tokens)
    near, far = grad[0, 12].norm(), grad[0, 3].norm()  # patch 3: the opposite corner
    assert near > 10 * far

    unguided = model.stage1[1](joints, tokens, None)[0]
    (grad,) = torch.autograd.grad(unguided[0, 13].square().sum(), tokens)
    torch.testing.assert_close(grad[0, 12].norm(), grad[0, 3].norm())  # what the test would see without it


def _standing_batch(people: int, size_jitter: float = 0.0) -> Batch:
    rng = np.random.default_rng(1)
    K = np.tile(np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]]), (people, 1, 1))
    root = np.stack([rng.uniform(-1, 1, people), rng.uniform(-0.3, 0.3, people), rng.uniform(3, 6, people)], 1)
    joints = np.repeat(STANDING_M[None], people, 0)
    keypoints = project((joints + root[:, None])[:, None], K)  # (P, 1, 17, 2)
    keypoints += size_jitter * rng.standard_normal(keypoints.shape)
    return Batch(keypoints.astype(np.float32), np.ones((people, 1, 17), np.float32), K, joints,
                 root.astype(np.float32), np.tile([1280, 720], (people, 1)))


def test_render_draws_the_body_where_the_crop_puts_its_joints():
    size = 64
    batch = _standing_batch(6, size_jitter=3.0)  # noisy 2D: the crop follows it, the body is the true 3D
    crops = render_crops(np.random.default_rng(5), batch, size)
    assert crops.shape == (6, 3, size, size) and crops.dtype == np.float32
    assert crops.min() >= 0.0 and crops.max() <= 1.0

    # Same random draws (background, palette, camera effects), body moved out of sight: the difference is the body.
    away = Batch(batch.keypoints_px, batch.confidence, batch.K, batch.joints_cam_m,
                 batch.root_cam_m + np.float32([50.0, 0.0, 0.0]), batch.image_size)
    body = np.abs(crops - render_crops(np.random.default_rng(5), away, size)).max(axis=1)  # (P, S, S)
    affine = crop_affine(batch.keypoints_px, batch.confidence, batch.K, size)
    true_px = project((batch.joints_cam_m + batch.root_cam_m[:, None])[:, None], batch.K)[:, 0]
    crop_px = np.einsum("pij,pkj->pki", affine[:, :, :2], true_px) + affine[:, None, :, 2]
    for person, points in zip(body, np.round(crop_px).astype(int)):
        assert all(person[y - 1:y + 2, x - 1:x + 2].max() > 0.03 for x, y in points)
        lo, hi = points.min(0) - 8, points.max(0) + 8  # a head radius, a blur and a pixel beyond the joints
        outside = np.ones_like(person, bool)
        outside[max(lo[1], 0):hi[1], max(lo[0], 0):hi[0]] = False
        assert person[outside].max() == 0.0


def test_render_draws_near_parts_over_far_ones():
    """A forearm across the chest hides the torso; pushed behind the body along its camera rays (same 2D), it
    is hidden by the torso: the crossing pixel then looks as if the arm were not there at all."""
    cross = STANDING_M.copy()
    cross[15], cross[16] = [-0.25, -0.2, -0.1], [0.1, -0.15, -0.25]  # right elbow, wrist: forearm over the chest
    batch = _standing_batch(16)
    batch = Batch(project((cross + batch.root_cam_m[:, None])[:, None], batch.K).astype(np.float32),
                  batch.confidence, batch.K, np.repeat(cross[None], 16, 0), batch.root_cam_m, batch.image_size)

    def render(arm_cam_m: np.ndarray) -> np.ndarray:
        joints = batch.joints_cam_m + batch.root_cam_m[:, None]
        joints[:, 15:17] = arm_cam_m
        moved = Batch(batch.keypoints_px, batch.confidence, batch.K, joints - joints[:, :1], batch.root_cam_m,
                      batch.image_size)
        return render_crops(np.random.default_rng(9), moved, 64)

    arm = (batch.joints_cam_m + batch.root_cam_m[:, None])[:, 15:17]
    in_front = render(arm)
    behind = render(arm * ((arm[..., 2:] + 0.5) / arm[..., 2:]))  # same rays, 0.5 m farther: behind the torso
    gone = render(arm + np.float32([50.0, 0.0, 0.0]))  # out of the crop
    # The forearm's crossing of the body's midline (x = 0), in crop pixels.
    t = -cross[15, 0] / (cross[16, 0] - cross[15, 0])
    point = (cross[15] + t * (cross[16] - cross[15]) + batch.root_cam_m)[:, None, None]
    affine = crop_affine(batch.keypoints_px, batch.confidence, batch.K, 64)
    x, y = np.round(np.einsum("pij,pj->pi", affine[:, :, :2], project(point, batch.K)[:, 0, 0])
                    + affine[:, :, 2]).astype(int).T
    rows = np.arange(16)
    assert np.abs(behind[rows, :, y, x] - gone[rows, :, y, x]).max() < 0.03  # torso over the far arm
    assert (np.abs(in_front[rows, :, y, x] - gone[rows, :, y, x]).max(1) > 0.1).mean() > 0.7  # near arm on top


def _tiny_checkpoint(path, stage: int) -> None:
    cfg = LiftingByImageConfig(**TINY, stage=stage)
    torch.manual_seed(0)
    model = randomise_heads(LiftingByImage(cfg))
    torch.save({"architecture": "lifting_by_image", "model_config": vars(cfg) | {"encoder_channels": [4, 8, 16]},
                "model": model.state_dict(), "epoch": 0, "metrics": {"noisy_p1_mm": 1.0},
                "train_config": {"name": "tiny", "epochs": 1, "seed": 0, "train_sequences": [0],
                                 "heldout_sequences": [4]}}, path)


def test_onnx_export_matches_torch(tmp_path):
    from pose3d_ros.training.export import export

    _tiny_checkpoint(tmp_path / "best.pt", stage=2)
    meta = export(tmp_path / "best.pt", tmp_path / "lbi.onnx")
    assert meta["architecture"] == "lifting_by_image" and "image (P, 3, 32, 32)" in meta["input"]
    lifters = {b: make_lifter(b, tmp_path / "lbi.onnx") for b in ("onnxruntime", "torch")}
    assert all(lifter.receptive_field == 1 and lifter.crop_size == 32 for lifter in lifters.values())

    batch = _standing_batch(8, size_jitter=2.0)
    camera = SimpleNamespace(K=batch.K[0], width=1280, height=720)
    crops = render_crops(np.random.default_rng(0), batch, 32)
    out = {b: lifter.lift(batch.keypoints_px, batch.confidence, camera, crops) for b, lifter in lifters.items()}
    assert out["torch"].shape == (8, 17, 3) and np.all(out["torch"][:, 0] == 0) and np.abs(out["torch"]).max() > 0
    np.testing.assert_allclose(out["onnxruntime"], out["torch"], atol=1e-4)
    one = lifters["onnxruntime"].lift(batch.keypoints_px[:1], batch.confidence[:1], camera, crops[:1])
    np.testing.assert_allclose(one, out["onnxruntime"][:1], atol=1e-5)  # people are lifted independently
    with pytest.raises(ValueError, match=r"\(P, 3, 32, 32\)"):
        lifters["onnxruntime"].lift(batch.keypoints_px, batch.confidence, camera)
