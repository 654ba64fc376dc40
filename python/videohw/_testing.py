"""Test-only hooks. Not part of the public API.

``inject_faults`` wraps every encoder provider the controller hands out from now on, so the
session, switch and pipeline code run their ordinary paths while an encoder fails where a
test asks it to.
"""

from __future__ import annotations

from typing import Optional

from . import _core
from .controller import SessionController


def inject_faults(ctl: SessionController, *, fail_create_at: Optional[int] = None,
                  fail_activation_at: Optional[int] = None,
                  fail_reconfigure: bool = False,
                  encode_delay_ms: int = 0) -> _core.FaultPlan:
    """Encoders created by ``ctl`` after this call are counted from 0 in creation order.

    - ``fail_create_at=k``: creating encoder #k raises (a switch raises SwitchError).
    - ``fail_activation_at=k``: encoder #k fails on its first frame (the switch rolls back).
    - ``fail_reconfigure``: every in-place reconfiguration fails at activation (rolls back).
    - ``encode_delay_ms``: every frame takes that much longer to encode (long waits).
    Returns the plan; ``plan.creates`` tells how many encoders were created so far.
    """
    plan = _core.FaultPlan(-1 if fail_create_at is None else fail_create_at,
                           -1 if fail_activation_at is None else fail_activation_at,
                           fail_reconfigure, encode_delay_ms)
    ctl._provider_wrapper = lambda provider: _core.wrap_with_faults(provider, plan)
    return plan
