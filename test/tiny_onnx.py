"""Small ONNX networks written by hand for the runtime tests: a lifter shaped as pose3d_ros.training.export writes
one, and a network that is no lifter (two inputs, two outputs, like a detector's boxes and scores)."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from pose3d_ros.layouts import H36M17
from pose3d_ros.lift.inputs import NORMALISATION


def _save(nodes, inputs, outputs, weights, metadata: dict[str, str], path: Path) -> Path:
    model = helper.make_model(helper.make_graph(nodes, path.stem, inputs, outputs, weights),
                              opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path))
    return path


def tiny_lifter_onnx(path: Path, receptive_field: int, crop_size: int = 0, window_name: str = "window") -> Path:
    """joints (P, 17, 3) = the newest frame of window (P, T, 17, 3), plus, for an image model (crop_size > 0), a
    random linear map of the person's crop image (P, 3, S, S)."""
    window = helper.make_tensor_value_info(window_name, TensorProto.FLOAT, ["people", receptive_field, 17, 3])
    inputs = [window]
    nodes = [helper.make_node("Gather", [window_name, "newest"], ["pose" if crop_size else "joints"], axis=1)]
    weights = [numpy_helper.from_array(np.array(receptive_field - 1, np.int64), "newest")]
    if crop_size:
        inputs.append(helper.make_tensor_value_info("image", TensorProto.FLOAT, ["people", 3, crop_size, crop_size]))
        rng = np.random.default_rng(crop_size)
        weights += [numpy_helper.from_array(rng.normal(0, 0.1, (3 * crop_size**2, 51)).astype(np.float32), "mix"),
                    numpy_helper.from_array(np.array([-1, 17, 3], np.int64), "joint_shape")]
        nodes += [helper.make_node("Flatten", ["image"], ["flat"], axis=1),
                  helper.make_node("MatMul", ["flat", "mix"], ["mixed"]),
                  helper.make_node("Reshape", ["mixed", "joint_shape"], ["offset"]),
                  helper.make_node("Add", ["pose", "offset"], ["joints"])]
    joints = helper.make_tensor_value_info("joints", TensorProto.FLOAT, ["people", 17, 3])
    metadata = {"receptive_field": str(receptive_field), "layout": H36M17.name, "input_normalisation": NORMALISATION}
    return _save(nodes, inputs, [joints], weights, metadata, path)


def two_output_onnx(path: Path, batch: str | int = "tiles") -> Path:
    """No lifter: pixels (B, 3, 4, 4) and anchors (B, 2) -> boxes (B, 4) = a linear map of the pixels, scores
    (B, 2) = 2 * anchors + the pixels' mean. ``batch``: dimension 0, a name (dynamic) or fixed."""
    rng = np.random.default_rng(7)
    inputs = [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [batch, 3, 4, 4]),
              helper.make_tensor_value_info("anchors", TensorProto.FLOAT, [batch, 2])]
    weights = [numpy_helper.from_array(rng.normal(0, 0.2, (48, 4)).astype(np.float32), "w"),
               numpy_helper.from_array(np.array(2.0, np.float32), "two"),
               numpy_helper.from_array(np.array([1], np.int64), "axis_1")]
    nodes = [helper.make_node("Flatten", ["pixels"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "w"], ["boxes"]),
             helper.make_node("ReduceMean", ["flat", "axis_1"], ["mean"], keepdims=1),  # (B, 1)
             helper.make_node("Mul", ["anchors", "two"], ["doubled"]),
             helper.make_node("Add", ["doubled", "mean"], ["scores"])]
    outputs = [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [batch, 4]),
               helper.make_tensor_value_info("scores", TensorProto.FLOAT, [batch, 2])]
    return _save(nodes, inputs, outputs, weights, {"network": "two_output"}, path)


def two_output_feeds(batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"pixels": rng.uniform(0, 1, (batch, 3, 4, 4)).astype(np.float32),
            "anchors": rng.normal(size=(batch, 2)).astype(np.float32)}


def two_output_expected(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """What two_output_onnx computes, in numpy: [boxes, scores]."""
    flat = feeds["pixels"].reshape(len(feeds["pixels"]), -1)
    w = np.random.default_rng(7).normal(0, 0.2, (48, 4)).astype(np.float32)
    return [flat @ w, 2 * feeds["anchors"] + flat.mean(1, keepdims=True)]
