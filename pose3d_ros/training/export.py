"""Export a training checkpoint to the runtime files: one ONNX file and a slim torch checkpoint.

    python -m pose3d_ros.training.export --checkpoint runs/causal_liu_rf81/best.pt \
        --out pose3d_ros/weights/causal_liu_rf81.onnx

Writes ``<out>`` (opset 18, dynamic people dimension, weights inside the file) and ``<out>`` with suffix
``.pt`` (``{"metadata", "model"}`` for the torch backend). Both carry the same metadata: receptive field,
layout, input normalisation, training data, seed and held-out errors.
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import asdict
from pathlib import Path

import onnx
import torch

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.architectures import architecture, build_model
from pose3d_ros.lift.inputs import NORMALISATION

OPSET = 18


def metadata_for(state: dict) -> dict[str, str]:
    """String metadata describing a training checkpoint (stored in ONNX metadata_props and the .pt)."""
    cfg = state["train_config"]
    metrics = state["metrics"]
    arch = architecture(state.get("architecture", "causal_liu"))
    model_config = state["model_config"]
    image = (f"; image (P, 3, {model_config['crop_size']}, {model_config['crop_size']}) float32 RGB in [0, 1]: "
             "the person's crop (lift/crops.py)") if "crop_size" in model_config else ""
    return {
        "architecture": arch.name,
        "paper": arch.paper,
        "receptive_field": str(model_config["receptive_field"]),
        "layout": H36M17.name,
        "input_normalisation": NORMALISATION,
        "input": "window (P, T, 17, 3) float32: normalised x, y, confidence; oldest frame first" + image,
        "output": "joints (P, 17, 3) float32: newest frame, metres, camera optical frame, pelvis at 0",
        "model_config": json.dumps(state["model_config"]),
        "training_data": "holosoma-retargeting==0.1.0 demo_data/climb mocap_climb_seq "
                         f"{cfg['train_sequences']} (held out {cfg['heldout_sequences']}), assumed 120 Hz"
                         + ("" if cfg.get("deepmimic_source") is None else
                            "; pybullet==3.2.7 DeepMimic humanoid3d clips (held out "
                            f"{list(cfg.get('deepmimic_heldout', ()))})")
                         + ("" if cfg.get("isaaclab_source") is None else
                            "; isaaclab==3.0.0 CMU mocap clips (held out "
                            f"{list(cfg.get('isaaclab_heldout', ()))})"),
        "augmentation": json.dumps(cfg.get("augment", {})),
        "training_run": f"{cfg['name']} epoch {state['epoch'] + 1}/{cfg['epochs']}",
        "seed": str(cfg["seed"]),
        "heldout_metrics": json.dumps({k: round(v, 2) for k, v in metrics.items()
                                       if k.startswith(("clean_", "noisy_", "deepmimic_", "isaaclab_"))}),
        "torch_version": str(torch.__version__),
    }


def save_untrained(model: torch.nn.Module, architecture: str, path: Path) -> Path:
    """Write ``model`` as it stands (untrained: for timing and tests) as a checkpoint export() reads; return path."""
    torch.save({"architecture": architecture, "model_config": asdict(model.cfg), "model": model.state_dict(),
                "epoch": 0, "metrics": {}, "train_config": {"name": "untrained", "epochs": 0, "seed": 0,
                                                            "train_sequences": [], "heldout_sequences": []}}, path)
    return path


def export(checkpoint: Path, out: Path) -> dict[str, str]:
    """Write ``out`` (.onnx) and its .pt sibling from a training checkpoint; return the metadata."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = build_model(state.get("architecture", "causal_liu"), state["model_config"])
    model.load_state_dict(state["model"])
    model.eval()
    meta = metadata_for(state)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"metadata": meta, "model": model.state_dict()}, out.with_suffix(".pt"))

    people = torch.export.Dim("people", min=1, max=4096)
    inputs = {"window": torch.zeros(2, model.cfg.receptive_field, H36M17.num_joints, model.cfg.in_features)}
    if model.needs_image:
        inputs["image"] = torch.zeros(2, 3, model.cfg.crop_size, model.cfg.crop_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model, tuple(inputs.values()), dynamo=True, opset_version=OPSET, external_data=False,
            input_names=list(inputs), output_names=["joints"],
            dynamic_shapes={name: {0: people} for name in inputs}, verbose=False,
        )
    proto = program.model_proto
    for node in proto.graph.node:  # exporter debug info (source paths, line numbers) would tie the bytes to a checkout
        del node.metadata_props[:]
    onnx.helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto)
    onnx.save_model(proto, str(out))
    return meta


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="training checkpoint (best.pt / last.pt)")
    parser.add_argument("--out", required=True, type=Path, help="output .onnx path")
    args = parser.parse_args(argv)
    if args.out.suffix != ".onnx":
        parser.error(f"--out '{args.out}' must end in .onnx")
    meta = export(args.checkpoint, args.out)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.2f} MB) and {args.out.with_suffix('.pt')}; "
          f"receptive field {meta['receptive_field']}, held-out {meta['heldout_metrics']}")


if __name__ == "__main__":
    main()
