"""What an ONNX file declares, read without running it: inputs, outputs and metadata (needs the ``onnx`` package).

TensorRT and torch sessions take their metadata from here, and build_engine its trtexec shapes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pose3d_ros.runtime.session import InferenceError, batch_inputs


@dataclasses.dataclass(frozen=True)
class OnnxModel:
    path: Path
    inputs: dict[str, tuple[int, ...]]  # each input's shape after the batch dimension 0
    max_batch: int | None  # 1 when the file fixes the batch at 1; None when it is dynamic
    output_names: list[str]
    metadata: dict[str, str]  # metadata_props


def read_onnx(path: str | Path) -> OnnxModel:
    """The declaration of the ONNX file at ``path``; raises InferenceError for an unreadable file or unfit inputs."""
    import onnx

    path = Path(path)
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError, OSError, ... for an unreadable file
        raise InferenceError(f"cannot read ONNX model '{path}': {exc}") from exc
    graph = proto.graph
    weights = {w.name for w in graph.initializer}  # old exporters also list the weights as graph inputs
    shapes = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]
              for i in graph.input if i.name not in weights}
    inputs, max_batch = batch_inputs(shapes, path)
    return OnnxModel(path, inputs, max_batch, [o.name for o in graph.output],
                     {p.key: p.value for p in proto.metadata_props})
