"""Declare a node's parameters from one table of (default, description), and read them back as a dict."""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node


def declare(node: Node, spec: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """Declare every ``name: (default, description)`` of ``spec`` on ``node``; return the values in force."""
    for name, (default, description) in spec.items():
        node.declare_parameter(name, default, ParameterDescriptor(description=description))
    return {name: node.get_parameter(name).value for name in spec}
