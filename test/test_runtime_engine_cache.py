"""TensorRT engine cache without TensorRT: keys, hit/miss, damaged files, atomic writes, eviction.

A fake builder (bytes from the key) and loader are injected; the cache never imports TensorRT.
"""

import dataclasses
import os

import pytest

from pose3d_ros.runtime import engine_cache
from pose3d_ros.runtime.engine_cache import EngineCache, EngineKey, write_atomic

KEY = EngineKey(model="causal_liu_rf81", onnx_sha256="ab" * 32, tensorrt_version="10.3.0.30", gpu_name="Orin",
                compute_capability="8.7", precision="fp16", max_batch=8)


class FakeBuilder:
    """Builds b"engine:<digest>" and counts builds; load() returns the bytes it was given."""

    def __init__(self, key: EngineKey):
        self.key = key
        self.builds = 0

    def build(self) -> bytes:
        self.builds += 1
        return f"engine:{self.key.digest()}".encode() * 100

    @staticmethod
    def load(engine: bytes) -> bytes:
        if not engine.startswith(b"engine:"):
            raise ValueError("not a plan")
        return engine


@pytest.fixture
def cache(tmp_path):
    messages: list[str] = []
    c = EngineCache(tmp_path / "engines", keep=2, log=messages.append)
    c.messages = messages
    return c


def get(cache: EngineCache, key: EngineKey = KEY, builder: FakeBuilder | None = None):
    builder = builder or FakeBuilder(key)
    return cache.get_or_build(key, builder.build, builder.load), builder


@pytest.mark.parametrize("field, value", [
    ("onnx_sha256", "cd" * 32), ("tensorrt_version", "10.3.0.31"), ("gpu_name", "NVIDIA GeForce RTX 4090"),
    ("compute_capability", "8.9"), ("precision", "fp32"), ("max_batch", 4), ("format_version", 3),
])
def test_every_key_component_changes_the_digest_and_file(cache, field, value):
    other = dataclasses.replace(KEY, **{field: value})
    assert other.digest() != KEY.digest()
    assert cache.engine_path(other) != cache.engine_path(KEY)


def test_key_rejects_unknown_precision_and_bad_batch():
    with pytest.raises(ValueError, match="precision 'bf16' unknown; expected one of fp16, fp32, int8"):
        dataclasses.replace(KEY, precision="bf16")
    with pytest.raises(ValueError, match="max_batch 0"):
        dataclasses.replace(KEY, max_batch=0)


def test_timing_cache_is_shared_per_tensorrt_and_gpu(cache):
    assert cache.timing_cache_path(dataclasses.replace(KEY, precision="int8", model="other")) == \
        cache.timing_cache_path(KEY)
    assert cache.timing_cache_path(dataclasses.replace(KEY, gpu_name="Xavier", compute_capability="7.2")) != \
        cache.timing_cache_path(KEY)


def test_miss_builds_once_then_hits(cache):
    engine, builder = get(cache)
    assert builder.builds == 1 and cache.engine_path(KEY).read_bytes() == engine
    again, builder2 = get(cache)
    assert builder2.builds == 0 and again == engine
    assert "miss" in cache.messages[0] and "hit" in cache.messages[1]


def test_other_key_is_a_miss(cache):
    get(cache)
    _, builder = get(cache, dataclasses.replace(KEY, tensorrt_version="10.7.0"))
    assert builder.builds == 1


@pytest.mark.parametrize("damage", ["truncate", "flip", "drop_record", "drop_engine", "garbage_record"])
def test_damaged_entry_is_rebuilt_with_a_warning(cache, damage):
    engine, _ = get(cache)
    path = cache.engine_path(KEY)
    if damage == "truncate":
        path.write_bytes(engine[: len(engine) // 2])
    elif damage == "flip":
        path.write_bytes(bytes([engine[0] ^ 1]) + engine[1:])
    elif damage == "drop_record":
        path.with_suffix(".json").unlink()
    elif damage == "drop_engine":
        path.unlink()
    else:
        path.with_suffix(".json").write_text("{not json")
    rebuilt, builder = get(cache)
    assert builder.builds == 1 and rebuilt == engine and path.read_bytes() == engine
    warnings = [m for m in cache.messages if m.startswith("WARNING")]
    assert len(warnings) == 1 and f"rebuilding '{path}'" in warnings[0]


def test_entry_recorded_for_another_key_is_rebuilt(cache):
    other = dataclasses.replace(KEY, gpu_name="Xavier")
    get(cache, other)
    for suffix in (".engine", ".json"):  # e.g. a cache directory copied from another robot and renamed
        os.replace(cache.engine_path(other).with_suffix(suffix), cache.engine_path(KEY).with_suffix(suffix))
    _, builder = get(cache)
    assert builder.builds == 1
    assert any("record is for another key" in m for m in cache.messages)


def test_entry_that_does_not_load_is_rebuilt(cache):
    get(cache)
    builder = FakeBuilder(KEY)
    calls = []

    def load_failing_once(engine: bytes) -> bytes:
        calls.append(engine)
        if len(calls) == 1:
            raise RuntimeError("deserialize_cuda_engine returned None")
        return engine

    cache.get_or_build(KEY, builder.build, load_failing_once)
    assert builder.builds == 1 and len(calls) == 2
    assert any("does not load (RuntimeError: deserialize_cuda_engine returned None)" in m for m in cache.messages)


def test_failed_build_leaves_nothing_behind(cache):
    def failing_build() -> bytes:
        raise RuntimeError("parser error")

    with pytest.raises(RuntimeError, match="parser error"):
        cache.get_or_build(KEY, failing_build, FakeBuilder.load)
    assert not cache.directory.exists() or list(cache.directory.iterdir()) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "x.engine"
    write_atomic(path, b"old")

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(engine_cache.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new engine")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.engine"]  # no temporary file left


def test_eviction_keeps_the_most_recently_used_per_model(cache):
    keys = [dataclasses.replace(KEY, max_batch=p) for p in (1, 2, 3)]
    other_model = dataclasses.replace(KEY, model="other_network")
    get(cache, other_model)
    for age, key in enumerate(keys[:2]):  # make the first two look old, the first the oldest
        get(cache, key)
        os.utime(cache.engine_path(key).with_suffix(".json"), ns=(10**18 + age, 10**18 + age))
    get(cache, keys[0])  # a hit: now the most recently used of the two
    get(cache, keys[2])  # third engine of this model: keep=2 evicts the least recently used, keys[1]
    assert not cache.engine_path(keys[1]).exists() and not cache.engine_path(keys[1]).with_suffix(".json").exists()
    assert cache.entries(KEY.model) == [cache.engine_path(keys[2]), cache.engine_path(keys[0])]
    assert cache.entries("other_network") == [cache.engine_path(other_model)]


def test_keep_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="keep 0"):
        EngineCache(tmp_path, keep=0)
