#!/usr/bin/env bash
# Build the project's environment in .venv from the package registries alone: a real ROS 2 (Kilted wheels from
# PyPI, Fast DDS), this package's messages and stand-ins for tf2_msgs and hri_msgs (ROS4HRI) built with rosidl into
# the venv, and the perception stack. Idempotent: a second run only rebuilds what changed (seconds).
#
#   tools/setup.sh            set up (or bring up to date)
#   PYTHON=python3.12 tools/setup.sh   use another interpreter (CPython 3.10-3.13, x86-64)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.venv
logs=$root/build/setup-logs
python=${PYTHON:-python3}
mkdir -p "$logs"

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] FAILED: %s\n[setup] what to do: %s\n' "$1" "$2" >&2; exit 1; }
# run STEP LOG HINT CMD...: run CMD with its output in LOG; on failure show the log's tail and a hint.
run() {
  local step=$1 log=$logs/$2 hint=$3; shift 3
  if ! "$@" >"$log" 2>&1; then
    tail -n 25 "$log" >&2
    fail "$step (full log: $log)" "$hint"
  fi
}
# stamp NAME FILES...: true when FILES hash to what step NAME last recorded (so the step can be skipped).
stamp_ok() { local f=$venv/.stamp-$1; shift; [ -f "$f" ] && [ "$(cat "$@" | sha256sum)" = "$(cat "$f")" ]; }
stamp_set() { local f=$venv/.stamp-$1; shift; cat "$@" | sha256sum >"$f"; }

# 1. The machine: the ROS 2 wheels exist for CPython 3.10-3.13 on x86-64 Linux only.
[ "$(uname -m)" = x86_64 ] || fail "this machine is $(uname -m); the PyPI ROS 2 wheels are x86-64 only" \
  "on a Jetson or another ROS 2 machine, build with colcon in a ROS workspace (README, 'In a ROS 2 workspace')"
command -v "$python" >/dev/null || fail "no '$python' on PATH" "install CPython 3.10-3.13 or set PYTHON=/path/to/python3"
"$python" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))' ||
  fail "$("$python" -V 2>&1) is not 3.10-3.13" "set PYTHON to a CPython 3.10-3.13 interpreter"
for tool in cmake g++ ip; do
  command -v $tool >/dev/null || fail "'$tool' not found" "apt-get install cmake g++ ninja-build iproute2"
done
generator=("-G" "Unix Makefiles"); command -v ninja >/dev/null && generator=("-G" "Ninja")

# 2. The virtual environment and its pinned packages.
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  run "creating the virtual environment" venv.log "install the venv module (apt-get install python3-venv)" \
    "$python" -m venv "$venv"
fi
py=$venv/bin/python
if stamp_ok pip "$root/requirements.txt" "$root/requirements-data.txt"; then
  say "python packages up to date"
else
  say "installing pinned python packages (ROS 2 Kilted, MediaPipe, torch CPU, ONNX Runtime; about a minute)"
  run "pip install -r requirements.txt" pip.log "check that PyPI is reachable; the log names the package that failed" \
    "$py" -m pip install --disable-pip-version-check -r "$root/requirements.txt"
  run "pip install of data packages" pip-data.log "check that PyPI is reachable" \
    "$py" -m pip install --disable-pip-version-check --no-deps -r "$root/requirements-data.txt"
  stamp_set pip "$root/requirements.txt" "$root/requirements-data.txt"
fi

# The pybullet wheel carries the DeepMimic humanoid clips used for training; it is read as a zip, not installed.
if ! compgen -G "$root/runs/data/pybullet-3.2.7-*.whl" >/dev/null; then
  say "downloading the pybullet 3.2.7 wheel into runs/data (DeepMimic motion clips for training)"
  run "pip download pybullet" pybullet.log "check that PyPI is reachable" \
    "$py" -m pip download --disable-pip-version-check --no-deps pybullet==3.2.7 -d "$root/runs/data"
fi
# The isaaclab wheel carries three CMU mocap clips (data/isaaclab_amp.py); it needs Python 3.12, so only its file.
if ! compgen -G "$root/runs/data/isaaclab-3.0.0-*.whl" >/dev/null; then
  say "downloading the isaaclab 3.0.0 wheel into runs/data (CMU motion clips for training)"
  run "pip download isaaclab" isaaclab.log "check that PyPI is reachable" \
    "$py" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
    isaaclab==3.0.0 -d "$root/runs/data"
fi

# 3. The ROS wheels' CMake exports name the wheel builder's Python include dirs; point them at this venv's.
py_include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
np_include=$("$py" -c 'import numpy; print(numpy.get_include())')
mapfile -t stale < <(grep -rl '/opt/python/cp3' "$venv/share" --include='*.cmake' || true)
if [ ${#stale[@]} -gt 0 ]; then
  say "repointing ${#stale[@]} CMake exports at this venv's Python and numpy headers"
  sed -i -E "s#/opt/python/cp3[0-9]+-cp3[0-9]+/include/python3\.[0-9]+#$py_include#g;
             s#/opt/python/cp3[0-9]+-cp3[0-9]+/lib/python3\.[0-9]+/site-packages/numpy/(_core|core)/include#$np_include#g" \
    "${stale[@]}"
fi

# 4. Interface packages built with rosidl and installed straight into the venv (it is an ament prefix).
build_into_venv() {  # NAME SOURCE_DIR
  local name=$1 src=$2 dir=$root/build/venv/$1
  mkdir -p "$dir"
  local hint="read the log; if CMake cannot find a ROS package, delete .venv and run tools/setup.sh again"
  run "configuring $name" "cmake-$name.log" "$hint" env CMAKE_PREFIX_PATH="$venv" AMENT_PREFIX_PATH="$venv" \
    cmake "${generator[@]}" -S "$src" -B "$dir" -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" \
    -DBUILD_TESTING=OFF
  run "building $name" "build-$name.log" "$hint" cmake --build "$dir" -j "$(nproc)"
  run "installing $name" "install-$name.log" "$hint" cmake --install "$dir"
}
say "building tf2_msgs stand-in (official TFMessage definition and type hash)"
build_into_venv tf2_msgs "$root/tools/tf2_msgs_shim"
say "building hri_msgs stand-in (official ROS4HRI definitions and type hashes)"
build_into_venv hri_msgs "$root/tools/hri_msgs_shim"
say "building pose3d_ros (messages, python package, nodes, launch and config files)"
build_into_venv pose3d_ros "$root"

# 5. Smoke check: the middleware loads and the generated messages import.
run "import check" import-check.log "delete .venv and run tools/setup.sh again" "$py" -c \
  'import rclpy, tf2_msgs.msg, hri_msgs.msg, pose3d_ros.msg, mediapipe, onnxruntime'

# 6. BlazePose's detector and full landmark networks as ONNX, converted from the mediapipe wheel's .tflite files
#    into the user's cache (the weights are Google's: made here, never committed); instant when cached.
say "BlazePose detector and landmark models as ONNX (pose3d_ros.detect.model_files, cached)"
run "converting BlazePose to ONNX" blazepose-onnx.log \
  "read the log; rerun alone with: .venv/bin/python -m pose3d_ros.detect.model_files --models detector full" \
  "$py" -m pose3d_ros.detect.model_files --models detector full
say "ready: $venv (activate with: source .venv/bin/activate)"
