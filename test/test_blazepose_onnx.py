"""BlazePose's ONNX models, made by our converter, equal the .tflite files run in LiteRT on frames of the demo
video, batched or not; the model cache converts once, reconverts a damaged file, and names what is missing."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tflite
from ai_edge_litert.interpreter import Interpreter
from tflite.BuiltinOperator import BuiltinOperator

from pose3d_ros.detect import model_files
from pose3d_ros.detect.base import DetectorError
from pose3d_ros.detect.model_files import blazepose_onnx, tflite_path
from pose3d_ros.detect.tflite_onnx import CONVERTER_VERSION, LANDMARK_OUTPUTS, convert
from pose3d_ros.ros.video_source_node import demo_video

# Demo video (1768x994) frames with both people in view: the man on the box and the woman walking.
FRAMES = (60, 119)
# Detector inputs: the square tiles the front end runs (frame, left x, side), left and right of the frame.
TILES = ((60, 0, 994), (60, 774, 994), (119, 0, 994))
# Landmark inputs: square person crops (frame, centre x, centre y, side) in video pixels.
CROPS = ((60, 625, 255, 500), (60, 1385, 740, 480), (119, 840, 725, 480))
LANDMARK_PX = 256  # the landmark model's crop size; its x, y outputs are pixels of it


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blazepose")


@pytest.fixture(scope="session")
def frames() -> dict[int, np.ndarray]:
    """FRAMES of the demo video as (994, 1768, 3) uint8 RGB."""
    capture = cv2.VideoCapture(str(demo_video()))
    found = {}
    for index in range(max(FRAMES) + 1):
        ok, bgr = capture.read()
        assert ok, f"demo video ended before frame {index}"
        if index in FRAMES:
            found[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    capture.release()
    return found


def square(rgb: np.ndarray, x: int, y: int, side: int, size: int) -> np.ndarray:
    """(size, size, 3) float32 0..255: the square at (x, y) of ``side`` pixels, bilinearly resized."""
    return cv2.resize(rgb[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_LINEAR).astype(np.float32)


@pytest.fixture(scope="session")
def detector_images(frames: dict[int, np.ndarray]) -> np.ndarray:
    """(3, 224, 224, 3) float32 in [-1, 1]."""
    return np.stack([square(frames[f], x, 0, side, 224) for f, x, side in TILES]) * (2 / 255) - 1


@pytest.fixture(scope="session")
def landmark_images(frames: dict[int, np.ndarray]) -> np.ndarray:
    """(3, 256, 256, 3) float32 in [0, 1]."""
    return np.stack([square(frames[f], cx - s // 2, cy - s // 2, s, LANDMARK_PX) for f, cx, cy, s in CROPS]) / 255


def run_litert(path: Path, images: np.ndarray) -> list[np.ndarray]:
    """The .tflite's outputs, each (N, ...), one image at a time (its batch is 1)."""
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    rows = []
    for image in images:
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
        interpreter.invoke()
        rows.append([interpreter.get_tensor(o["index"]) for o in interpreter.get_output_details()])
    return [np.concatenate(column) for column in zip(*rows)]


def run_onnx(path: Path, images: np.ndarray) -> dict[str, np.ndarray]:
    """The ONNX model's outputs by name for ``images`` (N, H, W, 3), as one batch."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": images})))


@pytest.fixture(scope="session")
def detector_runs(cache_dir: Path, detector_images: np.ndarray) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """(ONNX outputs by name, LiteRT outputs in order) on the detector tiles."""
    return (run_onnx(blazepose_onnx("detector", cache_dir), detector_images),
            run_litert(tflite_path("detector", cache_dir), detector_images))


@pytest.fixture(scope="session")
def landmark_runs(cache_dir: Path, landmark_images: np.ndarray) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """(ONNX outputs by name, LiteRT outputs in order) of the full landmark model with every output kept."""
    return (run_onnx(blazepose_onnx("full", cache_dir, drop=()), landmark_images),
            run_litert(tflite_path("full", cache_dir), landmark_images))


def test_detector_matches_litert(detector_runs):
    got, (boxes, scores) = detector_runs
    assert list(got) == ["boxes", "scores"]
    assert got["boxes"].shape == (3, 2254, 12) and got["scores"].shape == (3, 2254, 1)
    assert np.abs(got["scores"] - scores).max() < 5e-3  # logits up to ~500
    assert np.abs(got["boxes"] - boxes).max() < 1e-2  # pixels of the 224-px input
    assert (scores.max(axis=(1, 2)) > 2).all(), "every tile holds a person: a real test input"


def test_full_landmarks_match_litert(landmark_runs):
    got, expected = landmark_runs
    assert list(got) == list(LANDMARK_OUTPUTS)
    ref = dict(zip(LANDMARK_OUTPUTS, expected))
    xy_px = np.abs(got["landmarks"].reshape(3, 39, 5)[..., :2] - ref["landmarks"].reshape(3, 39, 5)[..., :2])
    assert xy_px.max() < 0.01
    assert np.abs(got["landmarks"] - ref["landmarks"]).max() < 0.02  # z and the visibility logits too
    assert (ref["presence"] > 0.99).all(), "every crop holds a person: a real test input"
    assert np.abs(got["presence"] - ref["presence"]).max() < 1e-5
    assert np.abs(got["world_landmarks"] - ref["world_landmarks"]).max() < 1e-4  # metres
    assert np.abs(got["heatmap"] - ref["heatmap"]).max() < 5e-3
    # Segmentation logits reach ~1800 here: compare relative to their scale.
    assert np.abs(got["segmentation"] - ref["segmentation"]).max() < 1e-3 * np.abs(ref["segmentation"]).max()


@pytest.mark.parametrize("name, images", [("detector", "detector_images"), ("full", "landmark_images")])
def test_batch_rows_equal_single_runs(name, images, cache_dir, request):
    images = request.getfixturevalue(images)
    batch = run_onnx(blazepose_onnx(name, cache_dir), images)
    for i in range(len(images)):
        single = run_onnx(blazepose_onnx(name, cache_dir), images[i:i + 1])
        for output, value in single.items():
            np.testing.assert_allclose(batch[output][i:i + 1], value, atol=1e-5, err_msg=output)


def test_runtime_files_keep_only_what_the_runtime_reads(cache_dir):
    path = blazepose_onnx("full", cache_dir)
    model = onnx.load(path)
    assert [o.name for o in model.graph.output] == ["landmarks", "presence", "world_landmarks"]
    (image,) = model.graph.input
    assert image.name == "image"
    assert [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim] == ["N", 256, 256, 3]
    assert model.opset_import[0].version in (17, 18)
    assert {n.op_type for n in model.graph.node} <= {"Conv", "Clip", "Relu", "Add", "Pad", "DepthToSpace", "Resize",
                                                     "Reshape", "Concat", "MaxPool", "Sigmoid", "Transpose"}
    assert {w.data_type for w in model.graph.initializer if w.dims and np.prod(w.dims) > 16} == {onnx.TensorProto.FLOAT}
    props = {p.key: p.value for p in model.metadata_props}
    assert props["source"] == "pose_landmark_full.tflite"
    assert props["source_sha256"] == model_files.MODELS["full"].sha256
    assert props["converter"].endswith(CONVERTER_VERSION)
    # Pruned: the dropped heads' layers are gone, not just unlisted.
    everything = onnx.load(blazepose_onnx("full", cache_dir, drop=()))
    assert len(model.graph.node) < len(everything.graph.node) - 20
    outputs = run_onnx(path, np.zeros((2, 256, 256, 3), np.float32))
    assert [v.shape for v in outputs.values()] == [(2, 195), (2, 1), (2, 117)]


def with_operator_code(data: bytes, old: int, new: int) -> bytes:
    """``data`` with the operator code ``old`` turned into ``new`` (both < 127), patched in the flatbuffer."""
    out = bytearray(data)
    model = tflite.Model.GetRootAsModel(data, 0)
    for k in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(k)
        if code.BuiltinCode() == old:
            for slot, fmt in ((4, "<b"), (10, "<i")):  # deprecated_builtin_code int8, builtin_code int32
                struct.pack_into(fmt, out, code._tab.Pos + code._tab.Offset(slot), new)
    return bytes(out)


def test_unknown_operator_is_named(cache_dir, tmp_path):
    data = tflite_path("detector", cache_dir).read_bytes()
    path = tmp_path / "foreign.tflite"
    path.write_bytes(with_operator_code(data, BuiltinOperator.PAD, BuiltinOperator.SQUARE))
    with pytest.raises(DetectorError, match=r"tflite operator SQUARE \(operator #0\) unsupported; expected only "
                                            r"ADD, CONCATENATION, CONV_2D"):
        convert(path)


def test_drop_of_unknown_output_names_the_outputs(cache_dir):
    with pytest.raises(DetectorError, match=r"cannot drop outputs \['mask'\].*'landmarks', 'presence'"):
        convert(tflite_path("full", cache_dir), LANDMARK_OUTPUTS, drop=["mask"])


def test_damaged_cache_file_is_reconverted(tmp_path):
    path = blazepose_onnx("detector", tmp_path)
    made = path.stat().st_mtime_ns
    assert blazepose_onnx("detector", tmp_path) == path and path.stat().st_mtime_ns == made, "cached: not redone"
    path.write_bytes(path.read_bytes()[:100_000])  # as a crash mid-copy would leave it
    with pytest.warns(RuntimeWarning, match="reconverting .*pose_detection-9ba9dd3d42ef-v1.onnx.*does not load"):
        assert blazepose_onnx("detector", tmp_path) == path
    assert onnx.load(path).graph.output[1].name == "scores"


def test_missing_wheel_file_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "mediapipe_modules_dir", lambda: tmp_path)
    with pytest.raises(DetectorError, match=r"pose_detection.tflite' missing; expected it in the wheel of "
                                            r"mediapipe==0\.10\.21: pip install --force-reinstall "
                                            r"mediapipe==0\.10\.21"):
        blazepose_onnx("detector", tmp_path)


def test_npm_model_without_npm_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(DetectorError, match=r"pose_landmark_lite.tflite' ships only in the npm package "
                                            r"@mediapipe/pose@0\.5\.1675469404.*npm pack @mediapipe/pose@"):
        blazepose_onnx("lite", tmp_path)


def test_command_prints_a_table(cache_dir, detector_runs, capsys):
    model_files.main(["--models", "detector", "--cache-dir", str(cache_dir)])
    header, _, row = ([cell.strip() for cell in line.strip("|").split("|")]
                      for line in capsys.readouterr().out.splitlines())
    assert header == ["model", "tflite sha256", "onnx path", "size", "seconds"]
    assert row[:3] == ["detector", "9ba9dd3d42efaaba", str(blazepose_onnx("detector", cache_dir))]
