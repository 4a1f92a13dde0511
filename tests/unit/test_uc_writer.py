"""Unity Catalog ids and links (export/uc_writer.py): what makes a retry name the same trace."""

from __future__ import annotations

from claudetracing.export import uc_writer


def test_a_turn_always_gets_the_same_trace_id_and_others_never_do() -> None:
    writer = uc_writer.UcWriter("dev", "main.agents.widgets", "main.agents.widgets_otel_spans")
    first = writer.trace_id("session-1:prompt-1")
    assert first == writer.trace_id("session-1:prompt-1")
    assert first != writer.trace_id("session-1:prompt-2")
    location, hex_id = first.removeprefix("trace:/").split("/")
    assert location == "main.agents.widgets"
    assert len(hex_id) == 32 and int(hex_id, 16) >= 0
    assert uc_writer.is_uc_trace_id(first) and not uc_writer.is_uc_trace_id("tr-" + hex_id)


def test_span_ids_are_stable_per_turn_and_position() -> None:
    ids = {uc_writer._span_hex("k", i) for i in range(50)}
    assert len(ids) == 50 and all(len(i) == 16 for i in ids)
    assert uc_writer._span_hex("k", 3) == uc_writer._span_hex("k", 3) != uc_writer._span_hex("j", 3)


def test_the_link_is_read_from_the_experiment_tags() -> None:
    assert uc_writer.location_from_tags({}) is None
    assert uc_writer.location_from_tags({uc_writer.DESTINATION_TAG: "main.agents"}) is None
    tags = {uc_writer.DESTINATION_TAG: "main.agents.widgets"}
    assert uc_writer.location_from_tags(tags) == (
        "main.agents.widgets",
        "main.agents.widgets_otel_spans",
    )
    tags[uc_writer.SPANS_TABLE_TAG] = "main.agents.custom_spans"
    assert uc_writer.location_from_tags(tags) == ("main.agents.widgets", "main.agents.custom_spans")
