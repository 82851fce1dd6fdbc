"""Stop strings are matched on text across token boundaries and never emitted."""

from __future__ import annotations

from causerie.engine.stops import StopMatcher


def feed_all(matcher: StopMatcher, pieces: list[bytes]) -> str:
    return "".join(matcher.feed(p) for p in pieces) + matcher.flush()


def test_no_stops_passes_everything() -> None:
    assert feed_all(StopMatcher(), [b"Hello", b" world"]) == "Hello world"


def test_stop_split_across_tokens_is_caught() -> None:
    matcher = StopMatcher(("END",))
    out = [matcher.feed(p) for p in [b"Hel", b"lo E", b"N", b"D and more"]]
    assert "".join(out) == "Hello "
    assert matcher.stopped and matcher.flush() == ""


def test_partial_match_is_released_when_it_fails() -> None:
    matcher = StopMatcher(("END",))
    assert matcher.feed(b"an E") == "an "
    assert matcher.feed(b"N") == ""
    assert matcher.feed(b"tity") == "ENtity"
    assert not matcher.stopped


def test_earliest_of_several_stops_wins() -> None:
    matcher = StopMatcher(("world", "lo"))
    assert matcher.feed(b"Hello world") == "Hel"
    assert matcher.stopped


def test_multibyte_characters_split_across_tokens() -> None:
    e_acute = "é".encode()
    matcher = StopMatcher()
    assert matcher.feed(e_acute[:1]) == ""
    assert matcher.feed(e_acute[1:] + b"t") == "ét"
    cut = StopMatcher()
    assert cut.feed(b"caf" + e_acute[:1]) == "caf"
    assert cut.flush() == "\ufffd"  # a half character at the very end is shown as such
