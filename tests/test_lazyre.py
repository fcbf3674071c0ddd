"""lazy_re: a pattern compiled on first use behaves as the compiled pattern."""

from __future__ import annotations

import copy
import pickle
import re

import pytest

from bounce_classify.lazyre import lazy_re

CASES = [
    # (pattern, flags, method, args)
    (r"user (\w+) unknown", re.I, "search", ("550 USER bob UNKNOWN",)),
    (r"^\d{3}", 0, "match", ("554 denied",)),
    (r"\d+", 0, "findall", ("4 2 7",)),
    (r"\s+", 0, "sub", (" ", "a   b\t c")),
    (r",", 0, "split", ("a,b,c",)),
    (rb"^From ", re.M, "search", (b"x\nFrom a",)),
]


@pytest.mark.parametrize(("pattern", "flags", "method", "args"), CASES)
def test_lazy_pattern_gives_what_the_compiled_pattern_gives(pattern, flags, method, args):
    lazy, real = lazy_re(pattern, flags), re.compile(pattern, flags)
    got, want = getattr(lazy, method)(*args), getattr(real, method)(*args)
    if isinstance(want, re.Match):
        assert got is not None and got.group(0) == want.group(0) and got.groups() == want.groups()
    else:
        assert got == want
    assert lazy.pattern == real.pattern and lazy.flags == real.flags and lazy.groups == real.groups


def test_nothing_is_compiled_until_first_use_and_then_once():
    lazy = lazy_re(r"never used (")  # invalid: compiling it would raise
    assert "search" not in vars(lazy)
    with pytest.raises(re.error):
        lazy.search("x")
    ok = lazy_re(r"ok")
    ok.search("ok")
    bound = vars(ok)["search"]
    ok.search("ok")
    assert vars(ok)["search"] is bound


def test_copy_and_pickle_do_not_recurse():
    lazy = lazy_re(r"a+")
    assert copy.copy(lazy).search("caat").group(0) == "aa"
    assert pickle.loads(pickle.dumps(lazy)).search("caat").group(0) == "aa"
