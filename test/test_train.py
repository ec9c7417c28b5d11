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
