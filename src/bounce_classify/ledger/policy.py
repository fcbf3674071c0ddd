"""The suppression policy: when a recorded result makes an address one to stop mailing.

The defaults, each configurable:

* a hard bounce (``hard_bounce: true``) suppresses at once;
* a complaint (``kind: feedback``) suppresses at once;
* soft bounces suppress once they fall on ``soft_bounces`` different days (default 3)
  within ``soft_days`` days (default 14).  Only failures at hops that concern the
  recipient count as soft bounces (``soft_hops``): a stale SMTP password, an SPF
  error or a message that is too big is the sender's fault, and suppressing the
  recipient would hide it rather than fix it;
* a later successful delivery (``kind: delivered``) clears the suppression and
  starts the soft-bounce count afresh.
"""

from __future__ import annotations

from ..model import FrozenRecord

DEFAULT_SOFT_HOPS = frozenset({"recipient-mailbox", "recipient-policy", "transport", "unknown"})


class Policy(FrozenRecord):
    __slots__ = ("soft_bounces", "soft_days", "soft_hops")
    soft_bounces: int
    soft_days: int
    soft_hops: frozenset[str]

    def __init__(self, soft_bounces: int = 3, soft_days: int = 14,
                 soft_hops: frozenset[str] = DEFAULT_SOFT_HOPS) -> None:
        if soft_bounces < 1:
            raise ValueError("the soft-bounce threshold must be at least 1")
        if soft_days < 1:
            raise ValueError("the soft-bounce window must be at least 1 day")
        self._set(soft_bounces=soft_bounces, soft_days=soft_days, soft_hops=soft_hops)


# what the ledger calls the cause of a suppression
CAUSE_HARD = "hard-bounce"
CAUSE_COMPLAINT = "complaint"
CAUSE_SOFT = "soft-bounces"
CAUSE_DELIVERED = "delivered"
