"""When time jumps back: one rule for every stateful stage, as tf2 applies it ("detected jump back in time").

Time is not monotonic on a robot: a bag loops, a simulator resets, a driver restarts, a publisher sends one
frame stamped far in the future. A stamp at least ``jump_back_s`` before the newest one starts a new time line:
the stage forgets its state (tracks, windows, followed people) and goes on from there. A stamp less far back,
or equal, is a frame out of order: skipped. Jumps forward need no rule: tracks and windows unseen for longer
than their own age limits close by themselves.
"""

from __future__ import annotations

from enum import Enum

JUMP_BACK_S = 1.0


class Stamp(Enum):
    IN_ORDER = "in_order"
    OUT_OF_ORDER = "out_of_order"  # skip the frame
    JUMPED_BACK = "jumped_back"  # reset, then take the frame


class Timeline:
    """The newest stamp seen, and what each new stamp means (``place``)."""

    def __init__(self, jump_back_s: float = JUMP_BACK_S):
        if jump_back_s <= 0:
            raise ValueError(f"jump_back_s {jump_back_s}; expected > 0 seconds")
        self.jump_back_ns = int(jump_back_s * 1e9)
        self.latest_ns: int | None = None

    def place(self, stamp_ns: int) -> tuple[Stamp, str]:
        """Where ``stamp_ns`` falls, and a line saying so (empty when in order). It becomes the newest stamp
        unless it is out of order."""
        previous = self.latest_ns
        if previous is not None and stamp_ns <= previous:
            back_ms = (previous - stamp_ns) / 1e6
            if previous - stamp_ns < self.jump_back_ns:
                return Stamp.OUT_OF_ORDER, (
                    f"stamp {stamp_ns} ns is {back_ms:.1f} ms before the newest {previous} ns; frame skipped (out of "
                    f"order; a jump back of {self.jump_back_ns / 1e9:g} s or more starts over)")
            self.latest_ns = stamp_ns
            return Stamp.JUMPED_BACK, (
                f"time jumped back {back_ms / 1e3:.3f} s (stamp {stamp_ns} ns after {previous} ns: a bag loop, a "
                "simulator or driver restart, or an earlier frame stamped in the future); state cleared, going on")
        self.latest_ns = stamp_ns
        return Stamp.IN_ORDER, ""

    def reset(self) -> None:
        self.latest_ns = None
