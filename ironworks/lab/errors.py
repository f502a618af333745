"""The lab's one error: `LabError`, raised by every lab module (fleet, BMCs, VMs, network).

Its own module so that `bmc.py` and `fleet.py` share it without importing each other: the
fleet starts BMC processes (`bmc.serve_shard`) and `bmc.py` needs nothing of the fleet.
"""

from __future__ import annotations


class LabError(Exception):
    """The lab cannot do what was asked; the message says why."""
