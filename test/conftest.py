"""Shared fixtures: a private rclpy context per test with an executor spinning on a thread.

Tests that start ROS 2 must run on loopback only (tools/test.sh runs pytest inside tools/loopback).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest


class RosGraph:
    """Nodes of one test on a MultiThreadedExecutor of their own context."""

    def __init__(self):
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import MultiThreadedExecutor

        self.context = Context()
        rclpy.init(context=self.context)
        self.executor = MultiThreadedExecutor(context=self.context)
        self.nodes = []
        self._thread = threading.Thread(target=self.executor.spin, daemon=True)
        self._thread.start()

    def add(self, node_class, **kwargs):
        """Create ``node_class(context=..., **kwargs)`` and spin it."""
        node = node_class(context=self.context, **kwargs)
        self.nodes.append(node)
        self.executor.add_node(node)
        return node

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        for node in self.nodes:
            node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll ``predicate`` until true; fail the test naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


@pytest.fixture
def ros_graph() -> Iterator[RosGraph]:
    if os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") != "LOCALHOST":
        pytest.exit("ROS 2 tests must stay on loopback: run them with tools/test.sh (or inside tools/loopback)", 2)
    graph = RosGraph()
    yield graph
    graph.close()


def make_probe(topics: dict[str, tuple[type, object]]):
    """A node class recording every message of ``topics`` ({name: (message class, QoS)}) in ``probe.got[name]``."""
    from rclpy.node import Node

    class Probe(Node):
        def __init__(self, **kwargs):
            super().__init__("probe", **kwargs)
            self.got = {name: [] for name in topics}
            for name, (cls, qos) in topics.items():
                self.create_subscription(cls, name, self.got[name].append, qos)

    return Probe
