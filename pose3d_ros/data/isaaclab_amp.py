"""CMU motion-capture clips (dance, run, walk) from the `isaaclab==3.0.0` wheel, as Human3.6M-17 joints.

Source: `isaaclab_tasks/contrib/humanoid_amp/motions/humanoid_{dance,run,walk}.npz` in the isaaclab 3.0.0 wheel
(BSD-3-Clause, 12 MB). They are IsaacGymEnvs' `amp_humanoid_{dance,run,walk}.npy` saved anew (body positions agree
to 5e-7 m), which NVIDIA states were retargeted from the CMU Graphics Lab Motion Capture Database (takes 01_01, 07_01,
08_02, 09_11, 49_08, 55_01; IsaacGymEnvs `assets/licenses/amp_motions-acknowledgement.txt`).
Licence of the motion: CMU's terms -- free for all uses, may go into commercial products, may not be resold as data.
Acknowledge it as CMU asks: "The data used in this project was obtained from mocap.cs.cmu.edu. The database was
created with funding from NSF EIA-0196217."

The wheel needs Python 3.12 and pulls in Isaac Sim's stack, so it is read as a zip and never installed:
`pip download --no-deps --only-binary=:all: --python-version 3.12 isaaclab==3.0.0 -d runs/data`.

Each file: `body_positions` (N, 15, 3) in metres, world z up, x/y horizontal (right-handed), `body_rotations`
(N, 15, 4) quaternions (w x y z), `fps` = 60. Every frame is stored twice, so the capture reaches us at 30 Hz:
the loader keeps the first of each repeat and interpolates in time to the requested rate.
The bodies are links of the AMP humanoid (DeepMimic's humanoid as MJCF) and a link's origin is the joint that
moves it: thigh = hip, shin = knee, foot = ankle, upper_arm = shoulder, lower_arm = elbow, hand = wrist,
head = neck. Pelvis, spine and thorax follow layouts.py's recipe (hip and shoulder means); neck_nose and head
are the centre and top of the head sphere (0.175 m and 0.175 + 0.095 m up the head link, amp_humanoid.xml).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from pose3d_ros.data.deepmimic import points_to_h36m, resample

CLIPS = ("dance", "run", "walk")
_MOTIONS = "isaaclab_tasks/contrib/humanoid_amp/motions/humanoid_{}.npz"
BODIES = ("pelvis", "torso", "head", "right_upper_arm", "right_lower_arm", "right_hand", "left_upper_arm",
          "left_lower_arm", "left_hand", "right_thigh", "right_shin", "right_foot", "left_thigh", "left_shin",
          "left_foot")
_H36M_FROM_BODY = {"hip": "thigh", "knee": "shin", "ankle": "foot", "shoulder": "upper_arm", "elbow": "lower_arm",
                   "wrist": "hand"}
HEAD_CENTRE_M = 0.175  # head sphere centre above the neck joint, along the head link's z axis
HEAD_TOP_M = 0.175 + 0.095  # plus the sphere's radius


def _wheel(source: str | Path) -> Path:
    """The isaaclab wheel itself, or the newest isaaclab-*.whl in a folder."""
    path = Path(source)
    if path.is_dir():
        wheels = sorted(path.glob("isaaclab-*.whl"))
        if not wheels:
            raise FileNotFoundError(f"no isaaclab-*.whl in '{path}'; run `pip download --no-deps --only-binary=:all: "
                                    f"--python-version 3.12 isaaclab==3.0.0 -d {path}`")
        path = wheels[-1]
    if not path.is_file():
        raise FileNotFoundError(f"'{path}' is neither the isaaclab wheel nor a folder holding it")
    return path


def _link_z_axis(q_wxyz: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions (w x y z) -> (..., 3) world direction of the link's z axis."""
    w, x, y, z = np.moveaxis(q_wxyz / np.linalg.norm(q_wxyz, axis=-1, keepdims=True), -1, 0)
    return np.stack([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)], axis=-1)


def to_h36m(body_positions_m: np.ndarray, body_rotations_wxyz: np.ndarray) -> np.ndarray:
    """(N, 15, 3) body origins and (N, 15, 4) body rotations, in ``BODIES`` order -> (N, 17, 3) H36M-17 joints."""
    body = {name: body_positions_m[:, i] for i, name in enumerate(BODIES)}
    head_up = _link_z_axis(body_rotations_wxyz[:, BODIES.index("head")])
    points = {f"{side}_{joint}": body[f"{side}_{link}"] for side in ("left", "right")
              for joint, link in _H36M_FROM_BODY.items()}
    points.update(head_centre=body["head"] + HEAD_CENTRE_M * head_up, head_top=body["head"] + HEAD_TOP_M * head_up)
    return points_to_h36m(points)


def load_clips(source: str | Path, fps: float) -> dict[str, np.ndarray]:
    """Clip name (``CLIPS``) -> (N, 17, 3) float32 H36M-17 joints, metres, world z up, resampled to ``fps``.

    source: the isaaclab 3.0.0 wheel, or a folder holding it.
    """
    clips = {}
    with zipfile.ZipFile(_wheel(source)) as wheel:
        for name in CLIPS:
            member = _MOTIONS.format(name)
            try:
                data = np.load(io.BytesIO(wheel.read(member)))
            except KeyError:
                raise FileNotFoundError(f"'{member}' is not in '{wheel.filename}'; expected isaaclab==3.0.0") from None
            if tuple(data["body_names"]) != BODIES:
                raise ValueError(f"'{member}' has bodies {list(data['body_names'])}; expected {list(BODIES)}")
            positions, rotations = data["body_positions"].astype(np.float64), data["body_rotations"]
            # Keep the first of each run of identical frames: the 60 fps files repeat every 30 Hz sample.
            fresh = np.r_[True, np.any(np.diff(positions, axis=0) != 0.0, axis=(1, 2))]
            times_s = np.flatnonzero(fresh) / float(data["fps"])
            joints = to_h36m(positions[fresh], rotations[fresh])
            new_times_s = np.arange(0.0, times_s[-1] + 0.5 / fps, 1.0 / fps)
            clips[name] = resample(times_s, joints, new_times_s).astype(np.float32)
    return clips
