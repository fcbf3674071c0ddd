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

from dataclasses import dataclass, field

DEFAULT_SOFT_HOPS = frozenset({"recipient-mailbox", "recipient-policy", "transport", "unknown"})


@dataclass(frozen=True, slots=True)
class Policy:
    soft_bounces: int = 3
    soft_days: int = 14
    soft_hops: frozenset[str] = field(default=DEFAULT_SOFT_HOPS)

    def __post_init__(self) -> None:
        if self.soft_bounces < 1:
            raise ValueError("the soft-bounce threshold must be at least 1")
        if self.soft_days < 1:
            raise ValueError("the soft-bounce window must be at least 1 day")


# what the ledger calls the cause of a suppression
CAUSE_HARD = "hard-bounce"
CAUSE_COMPLAINT = "complaint"
CAUSE_SOFT = "soft-bounces"
CAUSE_DELIVERED = "delivered"
