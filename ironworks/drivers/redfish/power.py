"""The Redfish power interface: read and change a system's power through its Reset action.

Power changes are verified: after the Reset action the system's PowerState is polled until it
reads the target or the timeout passes (BMCs, and sushy-tools' emulator, apply a reset seconds
after accepting it). Polls reuse the cached client (`clients.py`), so verifying costs one GET
of the system a second, not a new connection.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

from ironworks.common.errors import BMCUnreachable, DriverError, InvalidInput
from ironworks.domain.power import POWER_ERROR, POWER_OFF, POWER_ON, SOFT_POWER_OFF, TARGETS
from ironworks.drivers import base
from ironworks.drivers.base import Task
from ironworks.drivers.redfish.info import target_of
from ironworks.drivers.redfish.session import SystemAccess

log = logging.getLogger(__name__)

DEFAULT_POWER_TIMEOUT = 60.0  # seconds a power change may take when the caller gives none
POLL_INTERVAL = 1.0  # seconds between power-state reads while verifying


@cache
def _power_states() -> dict[Any, str]:
    import sushy  # on first use: a process without Redfish nodes never imports it

    return {
        sushy.PowerState.ON: POWER_ON,
        sushy.PowerState.POWERING_OFF: POWER_ON,  # still on until it is off
        sushy.PowerState.OFF: POWER_OFF,
        sushy.PowerState.POWERING_ON: POWER_OFF,  # still off until it is on
    }


def power_state_of(system: Any) -> str:
    return _power_states().get(system.power_state, POWER_ERROR)


class RedfishPower(SystemAccess, base.PowerInterface):
    name = "redfish"

    def get_power_state(self, task: Task) -> str:
        return self._run(task, "reading the power state", power_state_of)

    def supported_power_states(self, task: Task) -> list[str]:
        return list(TARGETS)

    def set_power_state(self, task: Task, state: str, timeout: float | None = None) -> str:
        import sushy

        reset = {
            POWER_ON: sushy.ResetType.ON,
            POWER_OFF: sushy.ResetType.FORCE_OFF,
            SOFT_POWER_OFF: sushy.ResetType.GRACEFUL_SHUTDOWN,
        }.get(state)
        if reset is None:
            raise InvalidInput(f"the redfish power interface cannot set {state!r}", field="target")
        want = POWER_OFF if state == SOFT_POWER_OFF else state
        limit = timeout or DEFAULT_POWER_TIMEOUT
        deadline = time.monotonic() + limit

        def act(system: Any) -> bool:
            if power_state_of(system) == want:
                return False  # nothing to do; some BMCs refuse "On" when on
            system.reset_system(reset)
            return True

        def landed(system: Any) -> bool | None:
            return True if power_state_of(system) == want else None

        self._run(task, f"requesting {state}", act, landed=landed)
        return self._wait_for(task, want, deadline, limit)

    def reboot(self, task: Task, timeout: float | None = None, soft: bool = False) -> str:
        import sushy

        limit = timeout or DEFAULT_POWER_TIMEOUT
        deadline = time.monotonic() + limit

        def act(system: Any) -> str:
            if power_state_of(system) == POWER_OFF:
                system.reset_system(sushy.ResetType.ON)
                return "on"
            if not soft:
                system.reset_system(sushy.ResetType.FORCE_RESTART)
                return "restart"
            if sushy.ResetType.GRACEFUL_RESTART in system.get_allowed_reset_system_values():
                system.reset_system(sushy.ResetType.GRACEFUL_RESTART)
                return "restart"
            system.reset_system(sushy.ResetType.GRACEFUL_SHUTDOWN)
            return "shutdown"

        # No `landed` check: a restart leaves no trace to read, so a lost answer means one more
        # restart at worst, which is what the operator asked for anyway.
        done = self._run(task, "requesting a soft reboot" if soft else "requesting a reboot", act)
        if done == "shutdown":  # no GracefulRestart on this BMC: shut down, then power on
            self._wait_for(task, POWER_OFF, deadline, limit)
            self._run(
                task,
                "requesting power on",
                lambda s: s.reset_system(sushy.ResetType.ON),
                landed=lambda s: True if power_state_of(s) == POWER_ON else None,
            )
        return self._wait_for(task, POWER_ON, deadline, limit)

    def _wait_for(self, task: Task, want: str, deadline: float, limit: float) -> str:
        """Poll the system's PowerState until it reads `want`; DriverError after `limit`."""
        target = target_of(task)
        last = "unknown"
        while True:
            left = deadline - time.monotonic()
            try:
                last = self._run(
                    task,
                    "reading the power state",
                    power_state_of,
                    budget=max(1.0, min(target.timeout, left)),
                )
                if last == want:
                    return last
            except BMCUnreachable as e:  # BMCs often drop requests while they reset
                log.info("node %s: %s; still waiting for %s", task.uuid, e.message, want)
            left = deadline - time.monotonic()
            if left <= 0:
                raise DriverError(
                    f"Redfish service {target.url} accepted the request for {want} but the "
                    f"system still reads {last} after {limit:g} s; raise the timeout or look "
                    "at the server"
                )
            time.sleep(min(POLL_INTERVAL, left))
