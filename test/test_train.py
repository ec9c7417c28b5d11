"""Training runs end to end on a tiny configuration: one process with resume, and two under torchrun (DDP, gloo)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
import yaml


def _config(tmp_path: Path, epochs: int) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({
        "name": "tiny", "seed": 3, "out_dir": str(tmp_path / "run"),
        "model": {"receptive_field": 27, "channels": 16, "groups": 4, "reduction": 8},
        "train_sequences": [0], "heldout_sequences": [4], "batch_size": 8, "epochs": epochs,
        "steps_per_epoch": 2, "eval_windows": 16, "device": "cpu", "num_threads": 1,
    }))
    return path


def _metrics(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]


def test_one_process_trains_checkpoints_and_resumes(tmp_path):
    from pose3d_ros.training.train import main

    main(["--config", str(_config(tmp_path, epochs=1))])
    assert [m["epoch"] for m in _metrics(tmp_path)] == [1]
    main(["--config", str(_config(tmp_path, epochs=2)), "--resume"])
    assert [m["epoch"] for m in _metrics(tmp_path)] == [1, 2]
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert state["epoch"] == 1 and not any(k.startswith("module.") for k in state["model"])


def test_two_processes_under_torchrun(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "pose3d_ros.training.train", "--config", str(_config(tmp_path, epochs=1))],
        capture_output=True, text=True, timeout=180, cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 process(es)" in run.stdout
    assert [m["epoch"] for m in _metrics(tmp_path)] == [1], "only rank 0 logs"
    state = torch.load(tmp_path / "run" / "best.pt", weights_only=False)
    assert not any(k.startswith("module.") for k in state["model"]), "checkpoints hold the unwrapped model"


def test_a_spatial_temporal_run_starts_from_ampose_and_trains_with_the_motion_loss(tmp_path):
    from pose3d_ros.lift.ampose import AMPose
    from pose3d_ros.lift.spatial_temporal import SpatialTemporalConfig
    from pose3d_ros.training.export import save_untrained
    from pose3d_ros.training.train import main

    model = {"receptive_field": 27, "channels": 16, "groups": 4, "reduction": 8, "dim": 16, "pairs": 1, "heads": 2}
    ampose = save_untrained(AMPose(SpatialTemporalConfig(**model).ampose), "ampose", tmp_path / "ampose.pt")
    config = yaml.safe_load(_config(tmp_path, epochs=1).read_text())
    config.update(architecture="spatial_temporal", model=model, init_from=str(ampose), motion_loss_weight=1.0)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    main(["--config", str(tmp_path / "tiny.yaml")])
    assert [m["epoch"] for m in _metrics(tmp_path)] == [1]


def test_the_motion_loss_is_the_pose_error_plus_its_velocity_and_acceleration_errors():
    import numpy as np

    from pose3d_ros.data.augment import AugmentConfig, synthesize
    from pose3d_ros.training.metrics import mpjpe
    from pose3d_ros.training.train import motion_loss

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(0, 0.01, (200, 17, 3)), axis=0)
    batch = synthesize(rng, [walk], 4, 9 + 2, AugmentConfig(), recent=3)
    assert batch.recent_cam_m.shape == (4, 3, 17, 3)
    np.testing.assert_array_equal(batch.recent_cam_m[:, -1], batch.joints_cam_m)

    class Still(torch.nn.Module):  # one fixed pose whatever the window: no velocity, no acceleration
        needs_image = False

        def forward(self, window):
            return torch.ones(len(window), 17, 3)

    loss, p1 = motion_loss(Still(), batch, 9, 2.0, torch.device("cpu"))
    truth = torch.from_numpy(batch.recent_cam_m)
    torch.testing.assert_close(p1, mpjpe(torch.ones_like(truth), truth))
    expected = p1 + 2.0 * (truth.diff(dim=1).norm(dim=-1).mean() + truth.diff(n=2, dim=1).norm(dim=-1).mean())
    torch.testing.assert_close(loss, expected)
