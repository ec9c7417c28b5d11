"""Every lifter side by side: size, compute, CPU latency, accuracy and ONNX parity, one row per model file.

Size and compute come from the torch model (.pt beside the .onnx): parameters, and MFLOPs per output frame
counted by torch's FlopCounterMode for one person (matrix products and convolutions, where nearly all the
work is; element-wise operations are not counted). Latency is ONNX Runtime on the CPU, one thread, through
``lift()`` (normalisation included, crops given). Accuracy is the evaluation of the lifter issue: Pose2Sim
Demo_SinglePerson (mean over the 4 views, through the node's code path) and the held-out climb motion capture
with detector-like noise. Parity is the largest joint difference between the ONNX and torch runtimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pose3d_ros.lift import make_lifter
from pose3d_ros.training.benchmark import random_inputs, time_lift

LATENCY_PEOPLE = (1, 8)


@dataclass
class ModelRow:
    name: str
    architecture: str
    receptive_field: int
    parameters: int
    mflops: float
    latency_ms: dict[int, float]  # people -> median ms
    pose2sim: dict[str, float]  # p1_mm, p2_mm, accel_mm, root_mm: mean over the views
    heldout: dict[str, float]  # p1_mm, p2_mm, accel_mm, root_mm: noisy 2D
    parity_mm: float


def size_and_compute(pt_path: Path) -> tuple[int, float]:
    """(parameters, MFLOPs for one output frame of one person) of the torch model in ``pt_path``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    lifter = make_lifter("torch", pt_path)
    model = lifter.model
    inputs = [torch.zeros(1, model.cfg.receptive_field, model.cfg.num_joints, model.cfg.in_features)]
    if model.needs_image:
        inputs.append(torch.zeros(1, 3, model.cfg.crop_size, model.cfg.crop_size))
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(*inputs)
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() / 1e6


def parity_mm(onnx_path: Path, people: int = 8) -> float:
    """Largest |ONNX Runtime - torch| joint coordinate in mm over ``people`` random windows."""
    onnx_lifter = make_lifter("onnxruntime", onnx_path)
    torch_lifter = make_lifter("torch", onnx_path.with_suffix(".pt"))
    args = random_inputs(onnx_lifter, people)
    return 1000.0 * float(np.abs(onnx_lifter.lift(*args) - torch_lifter.lift(*args)).max())


def pose2sim_errors(reference, lifter) -> dict[str, float]:
    from pose3d_ros.eval.lifter import evaluate_lifter

    views = evaluate_lifter(reference, lifter)
    return {"p1_mm": float(np.mean([np.nanmean(v.errors.p1_mm) for v in views])),
            "p2_mm": float(np.mean([np.nanmean(v.errors.p2_mm) for v in views])),
            "accel_mm": float(np.mean([np.nanmean(v.errors.accel_mm) for v in views])),
            "root_mm": float(np.mean([np.nanmean(v.root_mm) for v in views]))}


def measure(onnx_path: Path, reference, repeats: int = 200) -> ModelRow:
    """Every figure of one model (``onnx_path`` and its .pt sibling) on the Pose2Sim ``reference``."""
    from pose3d_ros.eval.heldout import evaluate_heldout

    lifter = make_lifter("onnxruntime", onnx_path, num_threads=1)
    parameters, mflops = size_and_compute(onnx_path.with_suffix(".pt"))
    return ModelRow(
        name=onnx_path.stem, architecture=lifter.metadata.get("architecture", "?"),
        receptive_field=lifter.receptive_field, parameters=parameters, mflops=mflops,
        latency_ms={p: time_lift(lifter, p, repeats) for p in LATENCY_PEOPLE},
        pose2sim=pose2sim_errors(reference, lifter),
        heldout=evaluate_heldout(lifter, noisy=True),
        parity_mm=parity_mm(onnx_path),
    )


def table(rows: list[ModelRow], mediapipe: dict[str, float] | None = None) -> str:
    """Markdown table of ``rows``; ``mediapipe`` (Pose2Sim P1/P2/accel of its world landmarks) as a last row."""
    lines = ["| model | architecture | RF | params | MFLOPs/frame | ORT ms 1 p. | ORT ms 8 p. | Pose2Sim P1 | "
             "Pose2Sim P2 | Pose2Sim accel | Pose2Sim root | climb P1 | climb P2 | climb accel | ONNX parity mm |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r.name, r.architecture, str(r.receptive_field), f"{r.parameters / 1e6:.2f} M", f"{r.mflops:.1f}",
                 *(f"{r.latency_ms[p]:.2f}" for p in LATENCY_PEOPLE),
                 *(f"{r.pose2sim[k]:.1f}" for k in ("p1_mm", "p2_mm", "accel_mm", "root_mm")),
                 *(f"{r.heldout[k]:.1f}" for k in ("p1_mm", "p2_mm", "accel_mm")), f"{r.parity_mm:.1e}"]
        lines.append("| " + " | ".join(cells) + " |")
    if mediapipe is not None:
        lines.append("| MediaPipe world landmarks | BlazePose (reference) | 1 | | | | | "
                     + " | ".join(f"{mediapipe[k]:.1f}" for k in ("p1_mm", "p2_mm", "accel_mm")) + " | | | | | |")
    return "\n".join(lines)


def plot(rows: list[ModelRow], out: Path, mediapipe: dict[str, float] | None = None) -> Path:
    """Accuracy against one-person latency: Pose2Sim P1 / P2 and held-out climb P1, one point per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (("Pose2Sim P1 (mm)", lambda r: r.pose2sim["p1_mm"], "p1_mm"),
              ("Pose2Sim P2 (mm)", lambda r: r.pose2sim["p2_mm"], "p2_mm"),
              ("held-out climb P1, noisy 2D (mm)", lambda r: r.heldout["p1_mm"], None))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), constrained_layout=True)
    colors = plt.get_cmap("tab10").colors
    for ax, (label, value, mediapipe_key) in zip(axes, panels):
        for i, r in enumerate(rows):
            ax.scatter(r.latency_ms[1], value(r), s=40 + r.parameters / 2e4, color=colors[i % 10], label=r.name)
            ax.annotate(r.name, (r.latency_ms[1], value(r)), textcoords="offset points", xytext=(5, 5), fontsize=8)
        if mediapipe is not None and mediapipe_key is not None:
            ax.axhline(mediapipe[mediapipe_key], color="grey", linestyle="--", label="MediaPipe world landmarks")
        ax.set_xscale("log")
        ax.set_xlabel("ONNX Runtime CPU latency, 1 person, 1 thread (ms)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Lifters: accuracy against latency (lower left is better; marker area ~ parameters)")
    path = out / "accuracy_vs_latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
