"""Train a lifter (any of lift/architectures.py) on augmented motion capture.

    python -m pose3d_ros.training.train --config config/train/causal_liu.yaml [--resume]
    torchrun --standalone --nproc_per_node=4 -m pose3d_ros.training.train --config ...   # several GPUs (DDP)

Writes ``<out_dir>/last.pt`` every epoch (resumable), ``<out_dir>/best.pt`` (lowest MPJPE on the held-out
climb sequence with noisy 2D) and ``<out_dir>/metrics.jsonl``. Export the result with
``python -m pose3d_ros.training.export``. ``init_from`` starts from another run's weights (a second training
stage); parameters the model froze (requires_grad False) are not optimised. Models that read the image get
rendered crops of each window's newest frame (data/render.py).

Under torchrun each process trains on batch_size / world size windows of its own per step (the global batch
stays batch_size) with DistributedDataParallel: NCCL on CUDA, gloo on CPU; only rank 0 evaluates, logs and
saves. A single process draws exactly the random stream it always did, so its runs stay reproducible.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from pose3d_ros.data import deepmimic, isaaclab_amp, mocap
from pose3d_ros.data.augment import AugmentConfig, Batch, synthesize
from pose3d_ros.lift.architectures import build_model
from pose3d_ros.lift.inputs import normalize_window
from pose3d_ros.training.metrics import mpjpe, p_mpjpe

# Held-out evaluation: fixed 30 fps-like sampling and unscaled bones; "clean" = exact 2D, "noisy" = training noise.
CLEAN_EVAL = AugmentConfig(frame_steps=(4,), new_track_prob=0.0, height_scale=(1.0, 1.0), bone_scale_std=0.0,
                           mirror_prob=0.0, noise_per_height=(0.0, 0.0), drop_prob=(0.0, 0.0), outlier_prob=0.0,
                           confidence=(1.0, 1.0))
NOISY_EVAL = AugmentConfig(frame_steps=(4,), height_scale=(1.0, 1.0), bone_scale_std=0.0, mirror_prob=0.0)


@dataclass
class TrainConfig:
    name: str
    seed: int
    out_dir: str
    model: dict  # the architecture's config fields
    augment: AugmentConfig
    architecture: str = "causal_liu"
    # Checkpoint (training or exported .pt) whose weights start this run: the same architecture, or one the model
    # names in INIT_FROM (whose weights it holds under the same names); layers it lacks start fresh.
    init_from: str | None = None
    mocap_root: str | None = None  # default: the installed holosoma-retargeting wheel
    train_sequences: tuple[int, ...] = (0, 1, 2, 3)
    heldout_sequences: tuple[int, ...] = (4,)
    deepmimic_source: str | None = None  # pybullet==3.2.7 wheel (or its folder); None = climb mocap only
    deepmimic_heldout: tuple[str, ...] = ()
    isaaclab_source: str | None = None  # isaaclab==3.0.0 wheel (or its folder): CMU clips; None = not used
    isaaclab_heldout: tuple[str, ...] = ()
    batch_size: int = 256
    epochs: int = 24
    steps_per_epoch: int = 250
    lr: float = 1e-3
    lr_final: float = 1e-5
    weight_decay: float = 1e-4
    eval_windows: int = 2048
    # > 0: each training window comes with the two windows ending one and two frames earlier (same 2D noise), and
    # the loss adds this weight times the velocity and acceleration errors of the three predictions (MPJPE of
    # their first and second differences): what the acceleration error measures, trained for directly.
    motion_loss_weight: float = 0.0
    device: str = "auto"
    num_threads: int = 2

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        raw = yaml.safe_load(Path(path).read_text())
        raw["model"] = dict(raw.get("model") or {})
        aug = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("augment", {}).items()}
        raw["augment"] = AugmentConfig(**aug)
        return cls(**raw)


def to_features(batch: Batch, device: torch.device, model: torch.nn.Module,
                rng: np.random.Generator) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
    """Batch -> (model inputs: normalised windows (B, T, 17, 3) [, crops (B, 3, S, S)], targets (B, 17, 3))."""
    inputs = [torch.from_numpy(normalize_window(batch.keypoints_px, batch.confidence, batch.K))]
    if model.needs_image:
        from pose3d_ros.data.render import render_crops

        inputs.append(torch.from_numpy(render_crops(rng, batch, model.cfg.crop_size)))
    return tuple(x.to(device) for x in inputs), torch.from_numpy(batch.joints_cam_m).to(device)


def motion_loss(model: torch.nn.Module, batch: Batch, window: int, weight: float,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, MPJPE): MPJPE of the three windows ending on the batch's last three frames (each normalised on its
    own, as the node normalises every step), plus ``weight`` x (velocity + acceleration MPJPE) of the three
    predictions in the loss."""
    b, span = batch.keypoints_px.shape[:2]
    windows = [normalize_window(batch.keypoints_px[:, end - window:end], batch.confidence[:, end - window:end],
                                batch.K) for end in range(span - 2, span + 1)]
    pred = model(torch.from_numpy(np.concatenate(windows)).to(device)).view(3, b, -1, 3).transpose(0, 1)
    target = torch.from_numpy(batch.recent_cam_m).to(device)  # (B, 3, 17, 3), oldest first
    velocity = mpjpe(pred.diff(dim=1), target.diff(dim=1))
    acceleration = mpjpe(pred.diff(n=2, dim=1), target.diff(n=2, dim=1))
    p1 = mpjpe(pred, target)
    return p1 + weight * (velocity + acceleration), p1


@torch.no_grad()
def evaluate(model: torch.nn.Module, batches: dict[str, tuple[tuple[torch.Tensor, ...], torch.Tensor]]
             ) -> dict[str, float]:
    """P1 / P2 in mm for each named evaluation set of (inputs, targets)."""
    model.eval()
    out = {}
    for name, (inputs, y) in batches.items():
        pred = torch.cat([model(*chunk) for chunk in zip(*(x.split(512) for x in inputs))])
        out[f"{name}_p1_mm"] = 1000.0 * mpjpe(pred, y).item()
        out[f"{name}_p2_mm"] = 1000.0 * p_mpjpe(pred.cpu().numpy(), y.cpu().numpy())
    model.train()
    return out


def save(path: Path, cfg: TrainConfig, model, optimizer, scheduler, epoch: int, best: float,
         rng: np.random.Generator, metrics: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save({
        "architecture": cfg.architecture, "model_config": asdict(model.cfg), "train_config": asdict(cfg),
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "epoch": epoch, "best_p1_mm": best, "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        "metrics": metrics,
    }, tmp)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="training YAML, e.g. config/train/causal_liu.yaml")
    parser.add_argument("--resume", action="store_true", help="continue from <out_dir>/last.pt")
    args = parser.parse_args(argv)

    cfg = TrainConfig.from_yaml(args.config)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device)
    world, rank = _init_distributed(device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    lead = rank == 0
    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed if world == 1 else [cfg.seed, rank])
    batch_size = cfg.batch_size // world
    out_dir = Path(cfg.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    files = mocap.find_sequences(cfg.mocap_root)
    train_seqs = [mocap.load_sequence(files[i]) for i in cfg.train_sequences]
    heldout = [mocap.load_sequence(files[i]) for i in cfg.heldout_sequences]
    net = build_model(cfg.architecture, cfg.model).to(device)
    if cfg.init_from is not None:
        init = torch.load(cfg.init_from, map_location=device, weights_only=False)
        held = init.get("architecture") or init.get("metadata", {}).get("architecture", "causal_liu")
        allowed = (cfg.architecture, *getattr(net, "INIT_FROM", ()))
        if held not in allowed:
            raise ValueError(f"init_from '{cfg.init_from}' holds a '{held}' model; expected one of {allowed}")
        missing, unexpected = net.load_state_dict(init["model"], strict=False)
        if unexpected:
            raise ValueError(f"init_from '{cfg.init_from}' has weights this model lacks: {unexpected[:5]}")
        if rank == 0 and missing:
            print(f"init_from {cfg.init_from}: {len(missing)} tensors start fresh (e.g. {missing[0]})")
    window = net.cfg.receptive_field
    if cfg.motion_loss_weight > 0 and net.needs_image:
        raise ValueError(f"motion_loss_weight {cfg.motion_loss_weight} needs a keypoint-only model; "
                         f"'{cfg.architecture}' reads image crops")
    eval_sets = {
        name: (heldout, aug) for name, aug in (("clean", CLEAN_EVAL), ("noisy", NOISY_EVAL))
    }
    if cfg.deepmimic_source is not None:
        clips = deepmimic.load_clips(cfg.deepmimic_source, fps=mocap.MOCAP_FPS)
        train_seqs += [c for name, c in clips.items() if name not in cfg.deepmimic_heldout]
        if cfg.deepmimic_heldout:
            eval_sets["deepmimic_noisy"] = ([clips[n] for n in cfg.deepmimic_heldout], NOISY_EVAL)
    if cfg.isaaclab_source is not None:
        clips = isaaclab_amp.load_clips(cfg.isaaclab_source, fps=mocap.MOCAP_FPS)
        train_seqs += [c for name, c in clips.items() if name not in cfg.isaaclab_heldout]
        if cfg.isaaclab_heldout:
            eval_sets["isaaclab_noisy"] = ([clips[n] for n in cfg.isaaclab_heldout], NOISY_EVAL)
    eval_batches = {}
    for name, (seqs, aug) in eval_sets.items():
        eval_rng = np.random.default_rng(cfg.seed + 1000)
        eval_batches[name] = to_features(synthesize(eval_rng, seqs, cfg.eval_windows, window, aug), device, net,
                                         eval_rng)

    model = DistributedDataParallel(net) if world > 1 else net
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                  weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    floor = cfg.lr_final / cfg.lr
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))
    start_epoch, best = 0, float("inf")
    if args.resume:
        state = torch.load(out_dir / "last.pt", map_location=device, weights_only=False)
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best = state["epoch"] + 1, state["best_p1_mm"]
        # The saved stream is rank 0's; other ranks continue on a stream of their own.
        rng = np.random.default_rng([cfg.seed, rank, start_epoch]) if rank else rng
        if lead:
            rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])

    if lead:
        print(f"{cfg.name}: {cfg.architecture}, {sum(p.numel() for p in net.parameters()):,} parameters "
              f"({sum(p.numel() for p in net.parameters() if p.requires_grad):,} trained), device {device}, "
              f"{world} process(es), train frames {sum(map(len, train_seqs))}, "
              f"held-out frames {sum(map(len, heldout))}")
    for epoch in range(start_epoch, cfg.epochs):
        started = time.monotonic()
        losses = []
        bar = tqdm(range(cfg.steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step", disable=not lead)
        for _ in bar:
            if cfg.motion_loss_weight > 0:
                batch = synthesize(rng, train_seqs, batch_size, window + 2, cfg.augment, recent=3)
                loss, p1 = motion_loss(model, batch, window, cfg.motion_loss_weight, device)
            else:
                x, y = to_features(synthesize(rng, train_seqs, batch_size, window, cfg.augment), device, net, rng)
                loss = p1 = mpjpe(model(*x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(p1.item())
            bar.set_postfix(mpjpe_mm=f"{1000 * np.mean(losses[-50:]):.1f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
        if not lead:
            continue
        metrics = {"epoch": epoch + 1, "train_p1_mm": 1000.0 * float(np.mean(losses)),
                   **evaluate(net, eval_batches), "epoch_s": time.monotonic() - started}
        tqdm.write(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in metrics.items()}))
        with open(out_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(metrics) + "\n")
        if metrics["noisy_p1_mm"] < best:
            best = metrics["noisy_p1_mm"]
            save(out_dir / "best.pt", cfg, net, optimizer, scheduler, epoch, best, rng, metrics)
        save(out_dir / "last.pt", cfg, net, optimizer, scheduler, epoch, best, rng, metrics)
    if world > 1:
        dist.destroy_process_group()


def _init_distributed(device: torch.device) -> tuple[int, int]:
    """(world size, rank): joins the process group when started by torchrun (WORLD_SIZE > 1), else (1, 0)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 1, 0
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return world, dist.get_rank()


if __name__ == "__main__":
    main()
