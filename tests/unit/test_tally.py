"""One tally for every export run, and one way to say it."""

from __future__ import annotations

from claudetracing.export.tally import Tally


def test_tallies_add_up_across_transcripts() -> None:
    total = Tally()
    total.add(Tally(exported=["t1"], already=2, copied=1, pending=1, skipped_lines=3, sessions=1))
    total.add(Tally(exported=["t2", "t3"], replaced=1, empty=2, sessions=1))
    total.add(Tally(sessions=1, errors={"/x.jsonl": "gone"}))
    assert total.exported == ["t1", "t2", "t3"]
    assert (total.already, total.copied, total.replaced, total.empty) == (2, 1, 1, 2)
    assert (total.pending, total.skipped_lines, total.sessions) == (1, 3, 3)
    assert total.errors == {"/x.jsonl": "gone"} and total.troubled


def test_an_import_reads_sessions_first_and_names_the_destination() -> None:
    tally = Tally(exported=["a", "b"], already=1, copied=2, pending=1, sessions=3)
    tally.errors["/p/s.jsonl"] = "no such file"
    tally.skipped_lines = 2
    assert tally.lines("sqlite:///x experiment 'e'") == [
        "3 session(s): 2 turn(s) exported, 1 already traced, 2 copied by a resumed session, "
        "1 still in progress → sqlite:///x experiment 'e'",
        "2 unreadable transcript line(s) skipped",
        "failed /p/s.jsonl: no such file",
    ]


def test_a_flush_says_what_waits_and_what_was_set_aside() -> None:
    waits = "session s1: server down; fix: start it"
    tally = Tally(exported=["a"], done_entries=2, retrying={"e1.json": waits, "e3.json": waits})
    tally.failed.append("e2.json")
    tally.aside["e2.json"] = "gave up after 3 attempt(s): session s2: gone"
    tally.corrupt.append("e4.json")
    assert tally.lines() == [
        "1 turn(s) exported, 0 already traced, 2 hook event(s) done",
        "still pending: session s1: server down; fix: start it",  # once for the session
        "set aside: gave up after 3 attempt(s): session s2: gone",
        "set aside e4.json",
    ]
    assert tally.troubled
    assert not Tally(exported=["a"]).troubled
