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


class _SigintStop:
    """The SIGINT handler of a node process.

    While the nodes are being made (a model can take seconds to load) Ctrl-C raises KeyboardInterrupt as usual.
    Once they spin it only records the request, which the spin loop checks between callbacks: a KeyboardInterrupt
    raised inside rclpy while it takes a message surfaces as a RuntimeError from its C++ bindings ("Unable to
    convert call argument") or leaves a half-made Task behind, and a clean stop would print a traceback.
    rclpy's own handler, installed by init over this one, still wakes the executor and then calls this.
    """

    def __init__(self):
        self.requested = False
        self.spinning = False

    def __call__(self, signum, frame) -> None:
        self.requested = True
        if not self.spinning:
            raise KeyboardInterrupt


def spin_nodes(make_nodes: Callable[[], list], args: list[str] | None = None, *, executor: type | None = None,
               until: Callable[[list], bool] | None = None) -> None:
    """The body of a node executable: init rclpy, spin the nodes ``make_nodes()`` returns on one ``executor``
    (default: single-threaded) until Ctrl-C, SIGTERM, the end of the process that started it, shutdown or
    ``until(nodes)``; clean up."""
    import signal

    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    stop = _SigintStop()
    signal.signal(signal.SIGINT, stop)
    end_with_parent()
    rclpy.init(args=args)
    nodes: list = []
    try:
        nodes = make_nodes()
        runner = (executor or SingleThreadedExecutor)()
        for node in nodes:
            runner.add_node(node)
        stop.spinning = True
        while not stop.requested and rclpy.ok() and not (until and until(nodes)):
            runner.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok() and not stop.requested:
            raise
        # else stopped while the nodes were being made or a callback ran: nothing went wrong
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()


def spin_node(make_node: Callable[[], object], args: list[str] | None = None) -> None:
    """spin_nodes for one node."""
    spin_nodes(lambda: [make_node()], args)
