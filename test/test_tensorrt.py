"""TensorRT backend: parity with ONNX Runtime and the engine cache with real engines (needs TensorRT and a GPU),
and what works everywhere: the trtexec line, build_engine's answer without TensorRT, the import error's reason.
"""

import hashlib
import importlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pose3d_ros.lift import make_lifter
from pose3d_ros.lift.build_engine import main as build_engine_main
from pose3d_ros.lift.build_engine import trtexec_command
from pose3d_ros.lift.engine_cache import EngineCache

ONNX_PATH = Path(__file__).resolve().parents[1] / "pose3d_ros" / "weights" / "causal_liu_rf81.onnx"
CAMERA = SimpleNamespace(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), width=1280, height=720)
MAX_PEOPLE = 4
TOLERANCE_M = {"fp32": 1e-4, "fp16": 1e-2}  # fp16: 10 mm on joints of ~1 m; fp32 differs in summation order


def tensorrt_import_error() -> str | None:
    try:
        backend = importlib.import_module("pose3d_ros.lift.tensorrt_backend")
    except ImportError as exc:
        return f"TensorRT backend unavailable ({type(exc).__name__}: {exc})"
    try:
        backend.gpu_identity()
    except RuntimeError as exc:
        return f"no CUDA GPU for TensorRT ({exc})"
    return None


UNAVAILABLE = tensorrt_import_error()
needs_tensorrt = pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))


def windows(people: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(300, 900, (people, 81, 17, 2)).astype(np.float32)
    return kp, rng.uniform(0.3, 1.0, (people, 81, 17)).astype(np.float32)


def test_trtexec_line_uses_the_models_input_and_people_profile():
    line = trtexec_command(ONNX_PATH, Path("out.engine"), "fp16", max_people=8, opt_people=2)
    assert line == (f"trtexec --onnx={ONNX_PATH} --saveEngine=out.engine --minShapes=window:1x81x17x3 "
                    "--optShapes=window:2x81x17x3 --maxShapes=window:8x81x17x3 --memPoolSize=workspace:256 --fp16")
    assert trtexec_command(ONNX_PATH, Path("e"), "fp32", 8, 2).endswith("workspace:256")
    assert trtexec_command(ONNX_PATH, Path("e"), "int8", 8, 2, Path("t.cache")).endswith(
        "--fp16 --int8 --timingCacheFile=t.cache")


@pytest.mark.skipif(UNAVAILABLE is None, reason="checks the machine without TensorRT")
def test_without_tensorrt_import_says_why_and_build_engine_prints_trtexec(capsys):
    assert UNAVAILABLE.startswith("TensorRT backend unavailable (") or UNAVAILABLE.startswith("no CUDA GPU")
    assert build_engine_main(["--model", str(ONNX_PATH), "--max-people", "6"]) == 2
    out, err = capsys.readouterr()
    assert "--maxShapes=window:6x81x17x3" in out
    assert "run this on the target machine" in err


@needs_tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_tensorrt_matches_onnxruntime(tmp_path, precision):
    from pose3d_ros.lift.tensorrt_backend import load_tensorrt_lifter

    trt_lifter = load_tensorrt_lifter(ONNX_PATH, precision, MAX_PEOPLE, EngineCache(tmp_path), log=print)
    reference = make_lifter("onnxruntime", ONNX_PATH)
    for people in (1, 3, MAX_PEOPLE, MAX_PEOPLE + 3):  # the last runs in two chunks
        kp, conf = windows(people, seed=people)
        got, want = trt_lifter.lift(kp, conf, CAMERA), reference.lift(kp, conf, CAMERA)
        assert got.shape == (people, 17, 3)
        assert np.abs(got - want).max() < TOLERANCE_M[precision], precision


@needs_tensorrt
def test_tensorrt_engine_cache_hit_miss_and_rebuild(tmp_path):
    from pose3d_ros.lift.tensorrt_backend import engine_key, load_tensorrt_lifter

    messages: list[str] = []
    cache = EngineCache(tmp_path, log=messages.append)
    kp, conf = windows(2)
    first = load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append).lift(kp, conf, CAMERA)
    key = engine_key(ONNX_PATH, "fp16", MAX_PEOPLE)
    path = cache.engine_path(key)
    assert path.is_file() and cache.timing_cache_path(key).is_file()
    assert any(m.startswith("engine cache: miss") for m in messages)

    messages.clear()
    hit = load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append).lift(kp, conf, CAMERA)
    assert any(m.startswith("engine cache: hit") for m in messages) and not any("miss" in m for m in messages)
    np.testing.assert_array_equal(hit, first)

    path.write_bytes(path.read_bytes()[:1000])  # truncated
    messages.clear()
    load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append)
    assert any(m.startswith("WARNING: engine cache: rebuilding") for m in messages)

    garbage = b"\0" * 4096  # a consistent record around bytes TensorRT cannot deserialise
    path.write_bytes(garbage)
    record = json.loads(path.with_suffix(".json").read_text())
    record.update(size=len(garbage), sha256=hashlib.sha256(garbage).hexdigest())
    path.with_suffix(".json").write_text(json.dumps(record))
    messages.clear()
    load_tensorrt_lifter(ONNX_PATH, "fp16", MAX_PEOPLE, cache, log=messages.append)
    assert any("does not load" in m for m in messages)
