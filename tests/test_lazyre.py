"""lazy_re: a pattern compiled on first use behaves as the compiled pattern."""

from __future__ import annotations

import copy
import pickle
import re
from array import array

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


# -- the assembled-pattern cache -------------------------------------------------------------

@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """lazyre with an empty in-memory cache kept in a file of its own."""
    from bounce_classify import lazyre

    if lazyre._CACHE is None:
        pytest.skip("this interpreter has no CPython regex internals; patterns compile the ordinary way")
    path = tmp_path / "regex.marshal"
    monkeypatch.setattr(lazyre, "_CACHE", str(path))
    monkeypatch.setattr(lazyre, "_assembled", None)
    monkeypatch.setattr(lazyre, "_added", 0)
    return lazyre, path


def _restart(lazyre, monkeypatch) -> None:
    """What a new process sees: nothing in memory, the file on disk."""
    monkeypatch.setattr(lazyre, "_assembled", None)
    monkeypatch.setattr(lazyre, "_added", 0)


@pytest.mark.parametrize(("pattern", "flags", "method", "args"), CASES + [
    (r"(?P<code>[45]\d\d)[ -](?P<status>[45]\.\d\.\d)", 0, "search", ("said: 550 5.1.1 no",)),
    (r"\bunbekannt\b|\u5b58\u5728\u3057\u307e\u305b\u3093", re.I, "search", ("Empf\u00e4nger UNBEKANNT",)),
])
def test_a_pattern_from_the_cache_matches_as_re_compile_does(fresh_cache, monkeypatch, pattern, flags, method, args):
    lazyre, path = fresh_cache
    lazyre.compile_cached(pattern, flags)
    lazyre._save()
    assert path.exists()
    _restart(lazyre, monkeypatch)
    assert (pattern, flags) in lazyre._load()
    cached, real = lazyre.compile_cached(pattern, flags), re.compile(pattern, flags)
    assert lazyre._added == 0  # taken from the file, not assembled again
    got, want = getattr(cached, method)(*args), getattr(real, method)(*args)
    if isinstance(want, re.Match):
        assert got is not None and got.span() == want.span() and got.groupdict() == want.groupdict()
    else:
        assert got == want
    assert (cached.pattern, cached.flags, cached.groups, cached.groupindex) == \
        (real.pattern, real.flags, real.groups, real.groupindex)


@pytest.mark.parametrize("content", [b"", b"garbage", b"\x00" * 64],
                         ids=["empty", "not marshal", "zeros"])
def test_a_damaged_cache_file_is_ignored_and_rewritten(fresh_cache, content):
    lazyre, path = fresh_cache
    path.write_bytes(content)
    assert lazyre.compile_cached(r"user (\w+)", re.I).search("USER bob").group(1) == "bob"
    lazyre._save()
    assert path.read_bytes() != content


def test_an_entry_the_matcher_refuses_is_assembled_again(fresh_cache):
    lazyre, _ = fresh_cache
    bogus = array(lazyre._WORD, [999999]).tobytes()  # not code this matcher can run
    lazyre._load()[(r"a+", 0)] = (0, bogus, 0, {}, ())
    assert lazyre.compile_cached(r"a+", 0).search("caat").group(0) == "aa"
    assert lazyre._load()[(r"a+", 0)][1] != bogus


def test_an_invalid_pattern_still_raises(fresh_cache):
    lazyre, _ = fresh_cache
    with pytest.raises(re.error):
        lazyre.compile_cached(r"broken (", 0)


def test_the_cache_keeps_only_this_runs_patterns_once_it_grows_large(fresh_cache, monkeypatch):
    lazyre, _ = fresh_cache
    monkeypatch.setattr(lazyre, "_MAX_ENTRIES", 3)
    monkeypatch.setattr(lazyre, "_used", set())
    for old in ("x1", "x2", "x3"):  # left by an older version
        lazyre._load()[(old, 0)] = (0, b"", 0, {}, ())
    for p in ("a", "b"):
        lazyre.compile_cached(p, 0)
    lazyre._save()
    _restart(lazyre, monkeypatch)
    assert set(lazyre._load()) == {("a", 0), ("b", 0)}
