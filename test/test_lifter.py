"""The causal lifter: model causality, runtime contract (shapes, errors), torch vs ONNX Runtime parity."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pose3d_ros.data.augment import causal_windows
from pose3d_ros.lift import BACKENDS, LifterError, make_lifter
from pose3d_ros.lift.causal_liu import CausalLiu, CausalLiuConfig
from pose3d_ros.training.metrics import p_mpjpe

WEIGHTS = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights"
ONNX_PATH = WEIGHTS / "causal_liu_rf81.onnx"
CAMERA = SimpleNamespace(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), width=1280, height=720)


@pytest.fixture(scope="module")
def lifters():
    return {b: make_lifter(b, ONNX_PATH) for b in BACKENDS}  # torch reads the .pt written beside the .onnx


def walking_keypoints(frames: int, people: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plausible moving 2D skeletons: (people, frames, 17, 2) pixels and (people, frames, 17) confidence."""
    rng = np.random.default_rng(seed)
    # A rough upright H36M-17 pose in pixels (pelvis at the origin, y down).
    base = np.array([[0, 0], [-20, 0], [-22, 90], [-24, 180], [20, 0], [22, 90], [24, 180], [0, -60],
                     [0, -120], [0, -140], [0, -165], [35, -115], [45, -60], [50, -10], [-35, -115],
                     [-45, -60], [-50, -10]], float)
    t = np.arange(frames)[None, :, None, None]
    swing = 15 * np.sin(0.2 * t + rng.uniform(0, 6, (people, 1, 1, 1)))
    limbs = np.isin(np.arange(17), [3, 6, 13, 16])[:, None]  # ankles and wrists swing sideways
    kp = base[None, None] + np.concatenate([swing, np.zeros_like(swing)], -1) * limbs
    kp = kp + np.array([640, 400]) + rng.uniform(-200, 200, (people, 1, 1, 2)) + rng.normal(0, 1.5, kp.shape)
    return kp.astype(np.float32), rng.uniform(0.5, 1.0, kp.shape[:3]).astype(np.float32)


@pytest.mark.parametrize("rf", [27, 81, 243])
def test_model_gives_one_root_relative_pose_per_window(rf):
    model = CausalLiu(CausalLiuConfig(receptive_field=rf)).eval()
    out = model(torch.randn(3, rf, 17, 3))
    assert out.shape == (3, 17, 3) and torch.isfinite(out).all()
    assert torch.all(out[:, 0] == 0)
    with pytest.raises(ValueError, match=f"needs exactly {rf}"):
        model(torch.randn(1, rf - 1, 17, 3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sequence_outputs_ignore_future_frames(lifters, backend):
    """Lifting every frame of a sequence causally: changing frames after t leaves outputs up to t unchanged."""
    lifter = lifters[backend]
    kp, conf = walking_keypoints(120)
    t = 70

    def lift_all(kp_seq, conf_seq):
        return lifter.lift(causal_windows(kp_seq[0], lifter.receptive_field),
                           causal_windows(conf_seq[0], lifter.receptive_field), CAMERA)

    before = lift_all(kp, conf)
    kp2, conf2 = kp.copy(), conf.copy()
    kp2[:, t + 1:] += np.random.default_rng(1).normal(0, 40, kp2[:, t + 1:].shape)
    conf2[:, t + 1:, 3] = 0.0
    after = lift_all(kp2, conf2)
    np.testing.assert_array_equal(before[: t + 1], after[: t + 1])
    assert np.abs(before[t + 1:] - after[t + 1:]).max() > 1e-3


def test_newest_frame_is_the_target(lifters):
    """The output follows the newest frame: moving only its wrist moves the predicted wrist."""
    lifter = lifters["onnxruntime"]
    kp, conf = walking_keypoints(lifter.receptive_field)
    moved = kp.copy()
    moved[:, -1, 16] += [0.0, -120.0]  # right wrist raised by 120 px in the newest frame only
    delta = lifter.lift(moved, conf, CAMERA) - lifter.lift(kp, conf, CAMERA)
    assert np.linalg.norm(delta[0, 16]) > 0.05
    assert np.linalg.norm(delta[0, 16]) > np.linalg.norm(delta[0, 3])  # more than the right ankle


@pytest.mark.parametrize("people", [0, 1, 8])
@pytest.mark.parametrize("backend", BACKENDS)
def test_lift_shapes(lifters, backend, people):
    lifter = lifters[backend]
    assert lifter.receptive_field == 81 and lifter.layout_name == "h36m17"
    kp, conf = walking_keypoints(lifter.receptive_field, max(people, 1))
    out = lifter.lift(kp[:people], conf[:people], CAMERA)
    assert out.shape == (people, 17, 3) and out.dtype == np.float32
    assert np.isfinite(out).all() and np.all(out[:, 0] == 0)


def test_people_are_lifted_independently(lifters):
    lifter = lifters["onnxruntime"]
    kp, conf = walking_keypoints(lifter.receptive_field, 8)
    together = lifter.lift(kp, conf, CAMERA)
    alone = np.concatenate([lifter.lift(kp[i:i + 1], conf[i:i + 1], CAMERA) for i in range(8)])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_missing_and_non_finite_joints_are_ignored(lifters):
    """A joint with confidence 0, or with NaN/inf pixels at any confidence, counts as missing."""
    lifter = lifters["onnxruntime"]
    kp, conf = walking_keypoints(lifter.receptive_field, 3)
    conf[:, 40:, 13] = 0.0
    reference = lifter.lift(kp, conf, CAMERA)
    kp[0, 40:, 13] = 5000.0
    kp[1, 40:, 13] = np.nan
    kp[2, 40:, 13] = np.inf
    conf[1, 40:, 13] = 0.9
    out = lifter.lift(kp, conf, CAMERA)
    np.testing.assert_allclose(out, reference, atol=1e-6)


def test_torch_and_onnxruntime_agree(lifters):
    kp, conf = walking_keypoints(81, 8, seed=3)
    conf[2, :, 5] = 0.0
    diff = np.abs(lifters["torch"].lift(kp, conf, CAMERA) - lifters["onnxruntime"].lift(kp, conf, CAMERA))
    assert diff.max() < 1e-4


def test_committed_weights_are_small_and_described():
    import onnx

    assert ONNX_PATH.stat().st_size < 10e6 and ONNX_PATH.with_suffix(".pt").stat().st_size < 10e6
    meta = {p.key: p.value for p in onnx.load(str(ONNX_PATH)).metadata_props}
    assert meta["receptive_field"] == "81" and meta["layout"] == "h36m17"
    assert {"input_normalisation", "training_data", "seed"} <= meta.keys()


def test_committed_onnx_files_hold_no_source_paths():
    """Exporter debug info (stack traces with paths and line numbers) would make a file's sha256 depend on the
    checkout it was exported from, so the model cards' reproduction hashes could not be met elsewhere."""
    import onnx

    for path in sorted(WEIGHTS.glob("*.onnx")):
        nodes = onnx.load(str(path)).graph.node
        assert not any(node.metadata_props for node in nodes), f"{path.name} carries per-node exporter metadata"


def test_wrong_window_length_is_rejected(lifters):
    kp, conf = walking_keypoints(80)
    with pytest.raises(ValueError, match=r"\(P, 81, 17, 2\)"):
        lifters["onnxruntime"].lift(kp, conf, CAMERA)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(LifterError, match=r"backend 'openvino' unknown; expected one of onnxruntime, torch"):
        make_lifter("openvino", ONNX_PATH)
    missing = tmp_path / "nope.onnx"
    with pytest.raises(LifterError, match=rf"'{missing}' not found; expected a \.onnx"):
        make_lifter("onnxruntime", missing)
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not a model")
    with pytest.raises(LifterError, match=rf"cannot load ONNX model '{corrupt}'"):
        make_lifter("onnxruntime", corrupt)
    corrupt_pt = tmp_path / "corrupt.pt"
    corrupt_pt.write_bytes(b"not a model")
    with pytest.raises(LifterError, match=rf"cannot load torch model '{corrupt_pt}'"):
        make_lifter("torch", corrupt)


def test_procrustes_error_ignores_similarity_transforms():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4, 17, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    rot = q * np.sign(np.linalg.det(q))
    assert p_mpjpe(2.0 * target @ rot.T + 0.3, target) < 1e-9


def test_benchmark_times_the_given_models_architecture_at_other_receptive_fields(capsys):
    from pose3d_ros.training import benchmark

    benchmark.main(["--model", str(WEIGHTS / "causal_liu_rf27.onnx"), "--untrained-rf", "81", "--people", "2",
                    "--repeats", "2"])
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][1:]
    assert [(r[0].strip(), r[1].strip(), r[2].strip()) for r in rows] == [
        ("causal_liu_rf27.onnx", "onnxruntime", "27"), ("causal_liu_rf27.onnx", "torch", "27"),
        ("untrained_causal_liu_rf81.onnx", "onnxruntime", "81"), ("untrained_causal_liu_rf81.onnx", "torch", "81")]
    assert all(float(r[4]) > 0 for r in rows)
