"""pose3d-ros: the project's command-line tools, one subcommand per module of pose3d_ros.commands."""

from __future__ import annotations

import argparse
import importlib

# subcommand -> (module, one-line help)
COMMANDS = {
    "demo": ("pose3d_ros.commands.demo", "run the ROS 2 graph on a video: bag, overlay video, summary"),
    "benchmark": ("pose3d_ros.commands.benchmark", "pipeline throughput and latency beside the detector alone"),
    "evaluate": ("pose3d_ros.commands.evaluate", "the lifter on real recordings beside MediaPipe, and its look-ahead"),
    "compare": ("pose3d_ros.commands.compare", "every lifter in one table: size, compute, latency, accuracy, parity"),
    "soak": ("pose3d_ros.commands.soak", "hours of running in minutes: memory and latency over time, or overload"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pose3d-ros", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module, help_text) in COMMANDS.items():
        modules[name] = importlib.import_module(module)
        command = sub.add_parser(name, help=help_text, description=modules[name].__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        modules[name].add_arguments(command)
    args = parser.parse_args(argv)
    try:
        return modules[args.command].run(args)
    except (FileExistsError, FileNotFoundError) as err:
        parser.exit(2, f"pose3d-ros {args.command}: {err}\n")
