"""The ROS 2 shell: nodes that declare parameters, convert messages at the edge and call the core."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def share_dir() -> Path:
    """This package's installed share directory (launch/, config/, msg/, rviz/).

    Found beside the generated messages: ``<prefix>/lib/pythonX.Y/site-packages/pose3d_ros/msg`` ->
    ``<prefix>/share/pose3d_ros``, the layout of every ament install (colcon workspace or tools/setup.sh's venv).
    """
    import pose3d_ros.msg

    return Path(pose3d_ros.msg.__file__).resolve().parents[5] / "share" / "pose3d_ros"


def end_with_parent() -> None:
    """Have the kernel send this process SIGINT (a clean shutdown) when the process that started it ends.

    `ros2 launch` ends at once on SIGTERM without stopping its nodes (ros2/launch#545, #666): without this, a
    service manager stopping the launch would leave the nodes running, orphaned. Linux only; elsewhere nothing.
    """
    import ctypes
    import os
    import signal

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the request took: end as it would have asked
        os.kill(os.getpid(), signal.SIGINT)


def spin_node(make_node: Callable[[], object], args: list[str] | None = None) -> None:
    """The body of a node executable: init rclpy, spin ``make_node()`` until Ctrl-C, SIGTERM, the end of the
    process that started it, or shutdown; clean up."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    end_with_parent()
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()  # inside: Ctrl-C while a model loads is a clean exit too
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise
        # else shut down (Ctrl-C, or the parent ended) while the node was being made: nothing went wrong
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
