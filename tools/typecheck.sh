#!/usr/bin/env bash
# Type-check the runtime (pose3d_ros/runtime: sessions, engine cache, backend choice); TensorRT's against
# tensorrt-stubs (TensorRT itself cannot be installed on a machine without a GPU). cuda_graphs.py is left out:
# checking torch takes minutes.
#   tools/typecheck.sh
# tensorrt-stubs installs tensorrt/*.pyi without a py.typed marker, so mypy will not read it from site-packages,
# and two of its signatures are not valid Python (a parameter named 'in'; a required one after defaults).
# A repaired copy goes to build/typestubs, which mypy reads through MYPYPATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
python=.venv/bin/python
site=$($python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ ! -f $site/tensorrt/__init__.pyi ]]; then
  echo "tensorrt-stubs is not installed in .venv; install it without its dependencies (they download TensorRT):" >&2
  echo "  .venv/bin/pip install --no-deps tensorrt-stubs==10.13.0.35.1" >&2
  exit 1
fi
stubs=build/typestubs
rm -rf "$stubs"
mkdir -p "$stubs"
cp -r "$site/tensorrt" "$site/tensorrt_bindings" "$stubs/"
sed -i -E 's/([(,] ?)in: /\1in_: /g; s/channel_axis: int\) -> IScaleLayer/channel_axis: int = ...) -> IScaleLayer/' \
    "$stubs/tensorrt_bindings/tensorrt.pyi"
MYPYPATH=$stubs $python -m mypy --config-file tools/mypy.ini --cache-dir build/mypy_cache \
    pose3d_ros/runtime/tensorrt_session.py pose3d_ros/runtime/engine_cache.py pose3d_ros/runtime/session.py \
    pose3d_ros/runtime/onnx_model.py pose3d_ros/runtime/build_engine.py \
    pose3d_ros/runtime/select.py pose3d_ros/runtime/onnxruntime_session.py
