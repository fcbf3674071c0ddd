"""Every decoder module is registered exactly once, and each follows the interface."""

from __future__ import annotations

import importlib
import pkgutil

import bounce_classify.decoders as decoders
from bounce_classify.decoders.base import Decoder, JsonDecoder


def _decoder_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(decoders.__path__)
                  if not m.name.startswith("_") and m.name != "base")


def test_every_decoder_module_is_registered() -> None:
    registered = {type(d).__module__.rsplit(".", 1)[1] for d in decoders.REGISTRY + decoders.JSON_REGISTRY}
    assert set(_decoder_modules()) == registered


def test_no_decoder_is_registered_twice() -> None:
    names = [d.name for d in decoders.REGISTRY + decoders.JSON_REGISTRY]
    assert len(names) == len(set(names))


def test_each_module_exposes_one_decoder_following_the_interface() -> None:
    for name in _decoder_modules():
        module = importlib.import_module(f"bounce_classify.decoders.{name}")
        decoder = module.DECODER
        assert isinstance(decoder, (Decoder, JsonDecoder)), name
        assert decoder.name and decoder.name == decoder.name.lower()


def test_generic_reader_is_last_and_rfc3464_after_the_mta_formats() -> None:
    names = [d.name for d in decoders.REGISTRY]
    assert names[-1] == "generic"
    assert names.index("rfc3464") > names.index("postfix")
    assert names.index("autoreply") > names.index("rfc3464")
