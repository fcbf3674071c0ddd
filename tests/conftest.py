from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "set-of-emails"


def require_program(name: str, why: str) -> str:
    """The path of a system program a test needs; skip without it (fail under CI=true)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({why}); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_shared() -> Path:
    if not (CORPUS / "labels.jsonl").exists():
        pytest.skip("../shared/corpus is not present beside this checkout")
    return CORPUS
