"""On-disk cache of built TensorRT engines: one engine per (ONNX model, TensorRT, GPU, precision, max batch).

An engine only runs on the TensorRT version and GPU that built it, and a build takes minutes on a Jetson, so
engines are kept in a directory (default ``~/.cache/pose3d_ros/engines``) under a name carrying the digest of
an ``EngineKey``. Each ``<name>.engine`` (raw TensorRT plan, usable by trtexec) has a ``<name>.json`` beside it
with the key and the engine's sha256: a missing, truncated or corrupt engine is rebuilt with a warning.
Both files are written atomically (temporary file + rename), and the newest ``keep`` engines of each model
(by last use) are kept. Nothing here imports TensorRT: the builder and loader are passed in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

FORMAT_VERSION = 2  # bump when the engine build changes in a way the other fields do not capture; 2: any network
PRECISIONS = ("fp16", "fp32", "int8")

T = TypeVar("T")


def default_engine_dir() -> Path:
    """``$XDG_CACHE_HOME/pose3d_ros/engines``, or ``~/.cache/pose3d_ros/engines``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pose3d_ros" / "engines"


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on. ``model`` (the ONNX file's stem) names and groups files only."""

    model: str
    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str  # "8.7" (Jetson Orin), "8.9" (RTX 40xx), ...
    precision: str
    max_batch: int  # the optimisation profile covers batches 1..max_batch
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision '{self.precision}' unknown; expected one of {', '.join(PRECISIONS)}")
        if self.max_batch < 1:
            raise ValueError(f"max_batch {self.max_batch}; expected >= 1")

    def digest(self) -> str:
        """16 hex digits of the sha256 of every field except ``model``."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "model"}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]

    def file_stem(self) -> str:
        return f"{self.model}.{self.precision}.b{self.max_batch}.{self.digest()}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class EngineCache:
    """Engines in ``directory``; ``keep`` (>= 1) newest per model survive each store."""

    def __init__(self, directory: str | Path, keep: int = 3, log: Callable[[str], None] = print):
        if keep < 1:
            raise ValueError(f"keep {keep}; expected >= 1")
        self.directory = Path(directory)
        self.keep = keep
        self.log = log

    def engine_path(self, key: EngineKey) -> Path:
        return self.directory / f"{key.file_stem()}.engine"

    def timing_cache_path(self, key: EngineKey) -> Path:
        """One timing cache per TensorRT version and GPU, shared by every model and precision built there."""
        gpu = "".join(c if c.isalnum() else "_" for c in key.gpu_name)
        return self.directory / f"timing.trt{key.tensorrt_version}.{gpu}.sm{key.compute_capability}.cache"

    def read(self, key: EngineKey) -> bytes | None:
        """The stored engine for ``key``, or None when absent; a damaged entry is removed with a warning."""
        path = self.engine_path(key)
        sidecar = path.with_suffix(".json")
        if not path.exists() and not sidecar.exists():
            return None
        try:
            record = json.loads(sidecar.read_text())
            data = path.read_bytes()
            problem = None
            if record.get("key") != dataclasses.asdict(key):
                problem = f"its record is for another key {record.get('key')}"
            elif len(data) != record.get("size") or hashlib.sha256(data).hexdigest() != record.get("sha256"):
                problem = f"{len(data)} bytes do not match the recorded {record.get('size')} bytes and sha256"
        except (OSError, ValueError, AttributeError) as exc:
            problem = f"it cannot be read ({type(exc).__name__}: {exc})"
        if problem is not None:
            self.discard(key, problem)
            return None
        os.utime(sidecar)  # last use orders eviction
        return data

    def write(self, key: EngineKey, engine: bytes) -> Path:
        """Store ``engine`` for ``key`` (engine first, then its record), evict old ones; return the engine path."""
        path = self.engine_path(key)
        write_atomic(path, engine)
        record = {"key": dataclasses.asdict(key), "size": len(engine), "sha256": hashlib.sha256(engine).hexdigest()}
        write_atomic(path.with_suffix(".json"), json.dumps(record, indent=1).encode())
        self.evict(key.model)
        return path

    def discard(self, key: EngineKey, reason: str) -> None:
        path = self.engine_path(key)
        self.log(f"WARNING: engine cache: rebuilding '{path}': {reason}")
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)

    def entries(self, model: str) -> list[Path]:
        """Engine paths of ``model`` (those with a record), most recently used first."""
        records = []
        for sidecar in self.directory.glob(f"{model}.*.json"):
            try:
                if json.loads(sidecar.read_text())["key"]["model"] == model:
                    records.append(sidecar)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # another writer's half-visible or foreign file; not ours to judge
        records.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        return [p.with_suffix(".engine") for p in records]

    def evict(self, model: str) -> list[Path]:
        """Remove all but the ``keep`` most recently used engines of ``model``; return the removed paths."""
        removed = self.entries(model)[self.keep:]
        for path in removed:
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)
        return removed

    def get_or_build(self, key: EngineKey, build: Callable[[], bytes], load: Callable[[bytes], T]) -> T:
        """``load`` the cached engine for ``key``; build, store and load it when absent, damaged or unloadable.

        ``build()`` returns a serialised engine; ``load(engine)`` turns it into a runtime object and raises
        (any exception) when the bytes are unusable, as TensorRT's deserialiser does for a foreign plan.
        """
        cached = self.read(key)
        if cached is not None:
            try:
                loaded = load(cached)
                self.log(f"engine cache: hit '{self.engine_path(key)}'")
                return loaded
            except Exception as exc:  # whatever the loader raises, the remedy is the same: rebuild
                self.discard(key, f"it does not load ({type(exc).__name__}: {exc})")
        self.log(f"engine cache: miss, building '{self.engine_path(key)}' (key {key.digest()})")
        engine = build()
        self.write(key, engine)
        return load(engine)
