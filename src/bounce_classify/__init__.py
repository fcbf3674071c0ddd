"""bounce-classify: read a bounce, name the failing hop, the reason and the fix.

>>> from bounce_classify import classify
>>> results = classify(raw_bytes)          # doctest: +SKIP
>>> results[0].hop, results[0].reason       # doctest: +SKIP
('recipient-mailbox', 'userunknown')
"""

from __future__ import annotations

from .api import Failure, classify, classify_item, classify_paths
from .model import Result
from .rules import RuleError, RuleSet, ruleset

__version__ = "0.1.0"

__all__ = ["Failure", "Result", "RuleError", "RuleSet", "classify", "classify_item", "classify_paths",
           "ruleset", "__version__"]
