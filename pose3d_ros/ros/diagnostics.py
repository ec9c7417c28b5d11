"""Counted, logged, published problems: every input a node rejects or works around shows up in three places.

The log says what was wrong (the first time, then at most every ``log_period_s`` per kind with a count);
``/diagnostics`` carries a counter and the latest message per kind at 1 Hz; ``counts`` is there for tests.
"""

from __future__ import annotations

import time
from collections import Counter

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node


class Health:
    """One node's problem counters and its /diagnostics status."""

    def __init__(self, node: Node, period_s: float = 1.0, log_period_s: float = 5.0):
        self._node = node
        self._name = node.get_fully_qualified_name()
        self._pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._log_period_s = log_period_s
        self._last_log: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()
        self.last_message: dict[str, str] = {}
        self._recent = False
        self.counts: Counter[str] = Counter()
        self.values: dict[str, str] = {}
        self.fatal: str | None = None
        node.create_timer(period_s, self.publish)

    def problem(self, kind: str, message: str) -> None:
        """Count a problem of ``kind`` and log ``message`` as an error (rate-limited per kind)."""
        self.counts[kind] += 1
        self.last_message[kind] = message
        self._recent = True
        now = time.monotonic()
        if now - self._last_log.get(kind, -1e9) >= self._log_period_s:
            repeats = self._unlogged.pop(kind, 0)
            suffix = f" ({repeats} more since the last report)" if repeats else ""
            self._node.get_logger().error(f"[{kind}] {message}{suffix}")
            self._last_log[kind] = now
        else:
            self._unlogged[kind] += 1

    def set_fatal(self, message: str) -> None:
        """Record a condition that stops the node's main output (e.g. no model) until it is fixed."""
        self.fatal = message
        self._node.get_logger().error(message)

    def publish(self) -> None:
        if self.fatal:
            level, text = DiagnosticStatus.ERROR, self.fatal
        elif self._recent:
            level, text = DiagnosticStatus.WARN, "input problems in the last period (see values)"
        else:
            level, text = DiagnosticStatus.OK, "ok"
        self._recent = False
        status = DiagnosticStatus(level=level, name=self._name, message=text, hardware_id="pose3d_ros")
        status.values = [KeyValue(key=k, value=v) for k, v in self.values.items()]
        status.values += [KeyValue(key=f"count/{k}", value=str(n)) for k, n in sorted(self.counts.items())]
        status.values += [KeyValue(key=f"last/{k}", value=m) for k, m in sorted(self.last_message.items())]
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self._node.get_clock().now().to_msg()
        self._pub.publish(msg)
