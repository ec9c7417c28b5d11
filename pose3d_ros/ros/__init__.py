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


def spin_node(make_node: Callable[[], object], args: list[str] | None = None) -> None:
    """The body of a node executable: init rclpy, spin ``make_node()`` until Ctrl-C or shutdown, clean up."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = make_node()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
