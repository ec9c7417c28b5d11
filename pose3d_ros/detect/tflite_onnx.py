"""TFLite flatbuffer -> ONNX, without TensorFlow: enough ops for BlazePose's detector and landmark graphs.

    model = convert("pose_landmark_full.tflite", LANDMARK_OUTPUTS, drop={"segmentation"})
    onnx.save(model, "pose_landmark_full.onnx")

The ONNX model takes ``image`` (N, H, W, 3) float32, the .tflite input's layout and values, with N dynamic,
and returns the .tflite outputs in their order under the given names. Inside it runs NCHW (what ONNX Runtime's
CPU kernels and TensorRT are fastest in): every 4-D activation is NCHW, transposed back to NHWC only before
a reshape and at the outputs. Constant subgraphs (fp16 DEQUANTIZE, sparse DENSIFY) are folded to fp32
weights here. Dropped outputs' layers are pruned, so they cost nothing at run time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper
from tflite.ActivationFunctionType import ActivationFunctionType as Act
from tflite.BuiltinOperator import BuiltinOperator
from tflite.DimensionType import DimensionType
from tflite.Padding import Padding
from tflite.SparseIndexVector import SparseIndexVector
from tflite.TensorType import TensorType

from pose3d_ros.detect.base import DetectorError

CONVERTER_VERSION = "1"  # bump when the ONNX this writes changes; cached files carry it
OPSET = 17
INPUT_NAME = "image"
DETECTOR_OUTPUTS = ("boxes", "scores")
LANDMARK_OUTPUTS = ("landmarks", "presence", "segmentation", "heatmap", "world_landmarks")

_OP_NAMES = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
_DTYPES = {TensorType.FLOAT32: np.float32, TensorType.FLOAT16: np.float16, TensorType.INT32: np.int32,
           TensorType.UINT8: np.uint8, TensorType.INT64: np.int64, TensorType.INT8: np.int8}
_INDEX_VECTORS = {SparseIndexVector.Int32Vector: tflite.Int32Vector,
                  SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
                  SparseIndexVector.Uint8Vector: tflite.Uint8Vector}
_TO_NCHW, _TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)
_NHWC_AXIS_IN_NCHW = (0, 2, 3, 1)  # NHWC axis a is NCHW axis _NHWC_AXIS_IN_NCHW[a]


def densify(values: np.ndarray, shape: Sequence[int], sparsity: tflite.SparsityParameters) -> np.ndarray:
    """Dense array of ``shape`` from ``values`` stored in TFLite's sparse format (dense and CSR dimensions).

    Walks the dimensions in order; ``positions`` holds, per stored element so far, its index into the next
    level (a dense level multiplies it out, a CSR level looks it up in its segments).
    """
    order = list(sparsity.TraversalOrderAsNumpy()) if sparsity.TraversalOrderLength() else list(range(len(shape)))
    if order != list(range(len(shape))) or sparsity.BlockMapLength():
        raise DetectorError(f"sparse tensor with traversal order {order} or block map unsupported; expected plain CSR")
    positions, coords = np.zeros(1, np.int64), np.zeros((1, 0), np.int64)
    for level in range(len(shape)):
        dim = sparsity.DimMetadata(level)
        if dim.Format() == DimensionType.DENSE:
            size = dim.DenseSize()
            positions = (positions[:, None] * size + np.arange(size)).ravel()
            coords = np.column_stack([np.repeat(coords, size, axis=0), np.tile(np.arange(size), len(coords))])
        else:
            segments, indices = (_index_vector(dim.ArraySegmentsType(), dim.ArraySegments()),
                                 _index_vector(dim.ArrayIndicesType(), dim.ArrayIndices()))
            counts = segments[positions + 1] - segments[positions]
            parents = np.repeat(np.arange(len(positions)), counts)
            positions = np.concatenate([np.arange(segments[p], segments[p + 1]) for p in positions]).astype(np.int64)
            coords = np.column_stack([coords[parents], indices[positions]])
    dense = np.zeros(shape, values.dtype)
    dense[tuple(coords.T)] = values[positions]
    return dense


def _index_vector(kind: int, table: object) -> np.ndarray:
    vector = _INDEX_VECTORS[kind]()
    vector.Init(table.Bytes, table.Pos)
    return vector.ValuesAsNumpy().astype(np.int64)


def _same_pads(in_hw: Sequence[int], kernel_hw: Sequence[int], strides: Sequence[int],
               dilations: Sequence[int]) -> list[int]:
    """ONNX pads [top, left, bottom, right] for TF SAME padding: the odd pixel goes at the end, as in TF."""
    begins, ends = [], []
    for size, k, s, d in zip(in_hw, kernel_hw, strides, dilations):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


class _Converter:
    """One pass over a TFLite subgraph's operators, emitting ONNX nodes; tensor i becomes value ``t{i}``."""

    def __init__(self, data: bytes):
        self.data = data
        self.model = tflite.Model.GetRootAsModel(data, 0)
        if self.model.SubgraphsLength() != 1:
            raise DetectorError(f"tflite model has {self.model.SubgraphsLength()} subgraphs; expected 1")
        self.graph = self.model.Subgraphs(0)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, onnx.TensorProto] = {}
        self.consts: dict[int, np.ndarray] = {}  # folded tensors, in TFLite layout
        self.names: dict[int, str] = {}

    # --- tensors -----------------------------------------------------------------------------------------
    def shape(self, i: int) -> list[int]:
        return self.graph.Tensors(i).ShapeAsNumpy().tolist()

    def name(self, i: int) -> str:
        return self.names.setdefault(i, f"t{i}")

    def const(self, i: int) -> np.ndarray | None:
        """The constant value of tensor ``i`` (stored data or folded), or None for an activation."""
        if i not in self.consts:
            tensor = self.graph.Tensors(i)
            buffer = self.model.Buffers(tensor.Buffer())
            if buffer.Offset() > 1:  # models over 2 GB keep data after the flatbuffer
                raw = self.data[buffer.Offset():buffer.Offset() + buffer.Size()]
            elif buffer.DataLength():
                raw = buffer.DataAsNumpy().tobytes()
            else:
                return None
            if tensor.Type() not in _DTYPES:
                raise DetectorError(f"tflite tensor type {tensor.Type()} unsupported; expected float, int or uint8")
            values = np.frombuffer(raw, _DTYPES[tensor.Type()])
            # A sparse tensor's buffer holds only its stored values; DENSIFY expands them.
            self.consts[i] = values if tensor.Sparsity() else values.reshape(self.shape(i))
        return self.consts[i]

    def weight(self, i: int, perm: Sequence[int] | None = None) -> str:
        """Initializer name for constant tensor ``i`` as fp32, transposed by ``perm``."""
        value = self.const(i)
        if value is None:
            raise DetectorError(f"tflite tensor '{self.graph.Tensors(i).Name().decode()}' must be constant here")
        value = value.astype(np.float32) if value.dtype == np.float16 else value
        value = value if perm is None else value.transpose(perm)
        name = f"w{i}" if perm is None else f"w{i}_" + "".join(map(str, perm))
        self.initializers.setdefault(name, numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def array(self, name: str, value: Sequence[float] | np.ndarray, dtype: type = np.int64) -> str:
        """Initializer for a small constant operand (pads, scales, shapes)."""
        self.initializers.setdefault(name, numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], output: str, **attrs: object) -> str:
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], name=f"{op_type}_{len(self.nodes)}",
                                           **attrs))
        return output

    def activate(self, value: str, fused: int, output: str) -> None:
        """Apply TFLite's fused activation to ``value``, the last node's output, into ``output``.

        Without activation, the last node is renamed to write ``output`` itself.
        """
        if fused == Act.NONE:
            self.nodes[-1].output[0] = output
            return
        if fused == Act.RELU:
            self.node("Relu", [value], output)
        elif fused in (Act.RELU6, Act.RELU_N1_TO_1):
            low, high = (0.0, 6.0) if fused == Act.RELU6 else (-1.0, 1.0)
            self.node("Clip", [value, self.array(f"clip_{low}", low, np.float32),
                               self.array(f"clip_{high}", high, np.float32)], output)
        else:
            raise DetectorError(f"fused activation {fused} unsupported; expected NONE, RELU, RELU6 or RELU_N1_TO_1")

    # --- operators: each takes (input tensor ids, output tensor ids, options table) ------------------------
    def op_DEQUANTIZE(self, ins, outs, options):  # noqa: N802 (named after the TFLite op)
        value = self.const(ins[0])
        if value is None or value.dtype != np.float16:
            raise DetectorError("DEQUANTIZE of activations or integer tensors unsupported; expected fp16 constants")
        self.consts[outs[0]] = value.astype(np.float32)

    def op_DENSIFY(self, ins, outs, options):  # noqa: N802
        self.consts[outs[0]] = densify(self.const(ins[0]), self.shape(outs[0]), self.graph.Tensors(ins[0]).Sparsity())

    def op_CONV_2D(self, ins, outs, options, depthwise=False):  # noqa: N802
        o = (tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)()
        o.Init(options.Bytes, options.Pos)
        kernel_shape = self.shape(ins[1])[1:3]
        strides, dilations = [o.StrideH(), o.StrideW()], [o.DilationHFactor(), o.DilationWFactor()]
        pads = [0, 0, 0, 0]
        if o.Padding() == Padding.SAME:
            pads = _same_pads(self.shape(ins[0])[1:3], kernel_shape, strides, dilations)
        channels_in = self.shape(ins[0])[3]
        # TFLite filters: conv (O, kh, kw, I), depthwise (1, kh, kw, C*M); ONNX wants (O, I/group, kh, kw).
        weight = self.weight(ins[1], (3, 0, 1, 2) if depthwise else (0, 3, 1, 2))
        group = channels_in if depthwise else channels_in // self.shape(ins[1])[3]
        inputs = [self.name(ins[0]), weight] + ([self.weight(ins[2])] if len(ins) > 2 and ins[2] >= 0 else [])
        out = self.node("Conv", inputs, f"t{outs[0]}_conv", kernel_shape=kernel_shape, strides=strides,
                        dilations=dilations, pads=pads, group=group)
        self.activate(out, o.FusedActivationFunction(), self.name(outs[0]))

    def op_DEPTHWISE_CONV_2D(self, ins, outs, options):  # noqa: N802
        self.op_CONV_2D(ins, outs, options, depthwise=True)

    def op_MAX_POOL_2D(self, ins, outs, options):  # noqa: N802
        o = tflite.Pool2DOptions()
        o.Init(options.Bytes, options.Pos)
        kernel_shape, strides = [o.FilterHeight(), o.FilterWidth()], [o.StrideH(), o.StrideW()]
        pads = _same_pads(self.shape(ins[0])[1:3], kernel_shape, strides, [1, 1]) if o.Padding() == Padding.SAME \
            else [0, 0, 0, 0]
        out = self.node("MaxPool", [self.name(ins[0])], f"t{outs[0]}_pool", kernel_shape=kernel_shape,
                        strides=strides, pads=pads)
        self.activate(out, o.FusedActivationFunction(), self.name(outs[0]))

    def op_ADD(self, ins, outs, options):  # noqa: N802
        o = tflite.AddOptions()
        o.Init(options.Bytes, options.Pos)
        rank = len(self.shape(outs[0]))
        out = self.node("Add", [self.operand(i, rank) for i in ins], f"t{outs[0]}_add")
        self.activate(out, o.FusedActivationFunction(), self.name(outs[0]))

    def operand(self, i: int, rank: int) -> str:
        """Elementwise operand ``i`` of an op whose output has ``rank``: constants are broadcast to NCHW."""
        value = self.const(i)
        if value is None:
            return self.name(i)
        if rank != 4:
            return self.weight(i)
        value = value.astype(np.float32).reshape((1,) * (4 - value.ndim) + value.shape).transpose(_TO_NCHW)
        return self.array(f"w{i}_nchw", value, np.float32)

    def op_PAD(self, ins, outs, options):  # noqa: N802
        pads = self.const(ins[1])
        if pads is None or pads[0].any():
            raise DetectorError("PAD with computed paddings or padding of the batch axis unsupported")
        if len(pads) == 4:
            pads = pads[list(_TO_NCHW)]
        self.node("Pad", [self.name(ins[0]), self.array(f"pads{outs[0]}", np.concatenate([pads[:, 0], pads[:, 1]]))],
                  self.name(outs[0]), mode="constant")

    def op_RESIZE_BILINEAR(self, ins, outs, options):  # noqa: N802
        o = tflite.ResizeBilinearOptions()
        o.Init(options.Bytes, options.Pos)
        in_hw, out_hw = self.shape(ins[0])[1:3], self.shape(outs[0])[1:3]
        # Scales, not sizes: sizes would need the dynamic batch size in the graph.
        scales = np.array([1, 1] + [o_ / i_ for o_, i_ in zip(out_hw, in_hw)], np.float32)
        if [int(np.floor(np.float32(i_) * s)) for i_, s in zip(in_hw, scales[2:])] != out_hw:
            raise DetectorError(f"RESIZE_BILINEAR {in_hw} -> {out_hw} not reachable by a float32 scale")
        mode = "align_corners" if o.AlignCorners() else "half_pixel" if o.HalfPixelCenters() else "asymmetric"
        self.node("Resize", [self.name(ins[0]), "", self.array(f"scales{outs[0]}", scales, np.float32)],
                  self.name(outs[0]), mode="linear", coordinate_transformation_mode=mode)

    def op_DEPTH_TO_SPACE(self, ins, outs, options):  # noqa: N802
        o = tflite.DepthToSpaceOptions()
        o.Init(options.Bytes, options.Pos)
        # TF's channel order (block row, block column, channel) is ONNX's DCR.
        self.node("DepthToSpace", [self.name(ins[0])], self.name(outs[0]), blocksize=o.BlockSize(), mode="DCR")

    def op_RESHAPE(self, ins, outs, options):  # noqa: N802
        in_shape, out_shape = self.shape(ins[0]), self.shape(outs[0])
        if in_shape[0] != out_shape[0]:
            raise DetectorError(f"RESHAPE {in_shape} -> {out_shape} mixes the batch axis; expected it kept")
        value = self.name(ins[0])
        if len(in_shape) == 4:  # reshape works on NHWC element order
            value = self.node("Transpose", [value], f"t{outs[0]}_nhwc", perm=_TO_NHWC)
        shape = self.array(f"shape{outs[0]}", [-1] + out_shape[1:])
        if len(out_shape) == 4:
            value = self.node("Reshape", [value, shape], f"t{outs[0]}_flat")
            self.node("Transpose", [value], self.name(outs[0]), perm=_TO_NCHW)
        else:
            self.node("Reshape", [value, shape], self.name(outs[0]))

    def op_CONCATENATION(self, ins, outs, options):  # noqa: N802
        o = tflite.ConcatenationOptions()
        o.Init(options.Bytes, options.Pos)
        rank = len(self.shape(outs[0]))
        axis = o.Axis() % rank
        if axis == 0:
            raise DetectorError("CONCATENATION along the batch axis unsupported")
        axis = _NHWC_AXIS_IN_NCHW[axis] if rank == 4 else axis
        out = self.node("Concat", [self.operand(i, rank) for i in ins], f"t{outs[0]}_cat", axis=axis)
        self.activate(out, o.FusedActivationFunction(), self.name(outs[0]))

    def op_LOGISTIC(self, ins, outs, options):  # noqa: N802
        self.node("Sigmoid", [self.name(ins[0])], self.name(outs[0]))

    # --- the graph ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """Convert every operator in order (TFLite stores them topologically sorted)."""
        codes = [self.model.OperatorCodes(k) for k in range(self.model.OperatorCodesLength())]
        for k in range(self.graph.OperatorsLength()):
            op = self.graph.Operators(k)
            code = codes[op.OpcodeIndex()]
            # Newer files keep codes above 127 in BuiltinCode; older ones only in DeprecatedBuiltinCode.
            op_name = _OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            handler = getattr(self, f"op_{op_name}", None)
            if handler is None:
                raise DetectorError(f"tflite operator {op_name} (operator #{k}) unsupported; expected only "
                                    f"{', '.join(supported_ops())}")
            handler(op.InputsAsNumpy().tolist(), op.OutputsAsNumpy().tolist(), op.BuiltinOptions())


def supported_ops() -> list[str]:
    """TFLite operator names the converter handles."""
    return sorted(name[3:] for name in vars(_Converter) if name.startswith("op_"))


def _prune(nodes: list[onnx.NodeProto], outputs: Iterable[str]) -> list[onnx.NodeProto]:
    """The nodes that ``outputs`` depend on, in their order."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    return kept[::-1]


def convert(tflite_path: str | Path, output_names: Sequence[str] | None = None,
            drop: Iterable[str] = ()) -> onnx.ModelProto:
    """ONNX model of the .tflite at ``tflite_path``: input ``image`` (N, H, W, 3), outputs in TFLite order.

    output_names: one name per TFLite output (default: the TFLite tensor names).
    drop: output names to leave out; the layers only they need are removed.
    """
    path = Path(tflite_path)
    data = path.read_bytes()
    conv = _Converter(data)
    graph = conv.graph
    (image,) = graph.InputsAsNumpy().tolist()
    in_shape = conv.shape(image)
    if len(in_shape) != 4 or in_shape[0] != 1:
        raise DetectorError(f"tflite input shape {in_shape}; expected (1, H, W, C)")
    out_ids = graph.OutputsAsNumpy().tolist()
    output_names = list(output_names or [graph.Tensors(i).Name().decode() for i in out_ids])
    if len(output_names) != len(out_ids):
        raise DetectorError(f"{len(output_names)} output names {output_names} for {len(out_ids)} tflite outputs")
    unknown = set(drop) - set(output_names)
    if unknown:
        raise DetectorError(f"cannot drop outputs {sorted(unknown)}; the model's outputs are {output_names}")
    for i, name in zip(out_ids, output_names):
        if len(conv.shape(i)) != 4:  # non-4-D values keep the TFLite layout: name them directly
            conv.names[i] = name
    conv.node("Transpose", [INPUT_NAME], conv.name(image), perm=_TO_NCHW)
    conv.run()

    kept = [(i, name) for i, name in zip(out_ids, output_names) if name not in drop]
    for i, name in kept:
        if len(conv.shape(i)) == 4:
            conv.node("Transpose", [conv.name(i)], name, perm=_TO_NHWC)
    nodes = _prune(conv.nodes, [name for _, name in kept])
    used = {name for node in nodes for name in node.input}
    batch = "N"
    onnx_graph = helper.make_graph(
        nodes, path.stem,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [batch] + in_shape[1:])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch] + conv.shape(i)[1:]) for i, name in kept],
        [t for name, t in conv.initializers.items() if name in used],
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="pose3d_ros.detect.tflite_onnx", producer_version=CONVERTER_VERSION)
    model.ir_version = 8  # what ONNX Runtime and TensorRT 8.6+ read
    helper.set_model_props(model, {"source": path.name, "source_sha256": hashlib.sha256(data).hexdigest(),
                                   "converter": f"pose3d_ros.detect.tflite_onnx {CONVERTER_VERSION}"})
    onnx.checker.check_model(model)
    return model
