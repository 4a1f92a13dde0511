"""Secrets are redacted before anything leaves the machine; ordinary material is left alone.

The corpora live in tests/fixtures/redaction/ (see its README): `secrets.jsonl` holds synthetic
secrets of every supported kind embedded in realistic lines, `benign.txt` ordinary material
(code, diffs, JSON, token counts, hashes, URLs, prose) that must come back unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from claudetracing import redaction
from claudetracing.core.errors import TracesError
from claudetracing.redaction import (
    CUSTOM_RULE_NAME,
    FIELD_RULE_NAME,
    RedactionPatternError,
    Redactor,
    Rule,
    marker,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
CORPUS = FIXTURES / "redaction"
SESSIONS = FIXTURES / "sessions"
DOCS = Path(__file__).parents[2] / "docs" / "redaction.md"


def load_secrets() -> list[dict[str, str]]:
    rows = []
    for line in (CORPUS / "secrets.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def load_benign() -> list[str]:
    text = (CORPUS / "benign.txt").read_text(encoding="utf-8")
    return [s for s in re.split(r"^%%\n", text, flags=re.MULTILINE) if s.strip()]


SECRETS = load_secrets()
BENIGN = load_benign()


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def leaks(secret: str, output: str) -> str | None:
    """The secret, or a 12+ character piece of it, if it is still in `output`."""
    if secret in output:
        return secret
    for i in range(len(secret) - 11):
        if secret[i : i + 12] in output:
            return secret[i : i + 12]
    return None


def describe_false_positives(redactor: Redactor, text: str) -> list[str]:
    found = []
    for start, end, name in redactor.find(text):
        line_no = text.count("\n", 0, start) + 1
        line = text.splitlines()[line_no - 1] if text else ""
        found.append(f"rule {name!r} took {text[start:end]!r} on line {line_no}: {line!r}")
    return found


# -- the corpora ---------------------------------------------------------------------------


def test_corpora_are_big_enough_and_cover_every_provider() -> None:
    assert len(SECRETS) >= 60
    assert len(BENIGN) >= 150
    providers = {row["provider"] for row in SECRETS}
    expected = {
        "databricks", "anthropic", "openai", "aws", "github", "gitlab", "slack", "google",
        "stripe", "huggingface", "npm", "pypi", "sendgrid", "twilio", "azure", "jwt",
        "private-key", "url-password", "authorization", "password",
    }  # fmt: skip
    assert expected <= providers
    for row in SECRETS:
        assert row["secret"] in row["context"], row


@pytest.mark.parametrize(
    "row", SECRETS, ids=[f"{i}-{row['provider']}" for i, row in enumerate(SECRETS)]
)
def test_every_secret_in_its_context_is_redacted(redactor: Redactor, row: dict[str, str]) -> None:
    out, count = redactor.redact_text(row["context"])
    leaked = leaks(row["secret"], out)
    assert leaked is None, f"{row['provider']}: {leaked!r} survived in {out!r}"
    assert count >= 1
    assert "[REDACTED:" in out


@pytest.mark.parametrize(
    "row", SECRETS, ids=[f"{i}-{row['provider']}" for i, row in enumerate(SECRETS)]
)
def test_every_secret_is_redacted_inside_a_json_string(
    redactor: Redactor, row: dict[str, str]
) -> None:
    """Transcripts carry tool output as JSON strings: quotes and newlines come escaped."""
    text = json.dumps({"type": "tool_result", "content": row["context"]})
    out, count = redactor.redact_text(text)
    secret = json.dumps(row["secret"])[1:-1]
    assert leaks(secret, out) is None, out
    assert count >= 1
    json.loads(out)  # still valid JSON


def test_benign_corpus_comes_back_unchanged(redactor: Redactor) -> None:
    problems = []
    for index, snippet in enumerate(BENIGN):
        out, count = redactor.redact_text(snippet)
        if out != snippet or count:
            first = snippet.strip().splitlines()[0]
            for found in describe_false_positives(redactor, snippet):
                problems.append(f"benign snippet #{index} ({first[:60]!r}): {found}")
    assert not problems, "false positives:\n" + "\n".join(problems)


def test_benign_corpus_unchanged_as_json_and_as_one_document(redactor: Redactor) -> None:
    whole = (CORPUS / "benign.txt").read_text(encoding="utf-8")
    for text in (whole, json.dumps(BENIGN)):
        assert describe_false_positives(redactor, text) == []


def test_recorded_claude_code_sessions_come_back_unchanged(redactor: Redactor) -> None:
    files = sorted(SESSIONS.rglob("*.json*"))
    assert files
    for path in files:
        raw = path.read_text(encoding="utf-8")
        records: list[Any] = (
            [json.loads(line) for line in raw.splitlines() if line.strip()]
            if path.suffix == ".jsonl"
            else [json.loads(raw)]
        )
        out, count = redactor.redact(records)
        assert count == 0, f"{path}: {describe_false_positives(redactor, raw)}"
        assert out == records


def test_rates(redactor: Redactor) -> None:
    caught = 0
    for row in SECRETS:
        out, count = redactor.redact_text(row["context"])
        caught += count >= 1 and leaks(row["secret"], out) is None
    changed = sum(redactor.redact_text(snippet)[0] != snippet for snippet in BENIGN)
    caught_rate = 100 * caught / len(SECRETS)
    changed_rate = 100 * changed / len(BENIGN)
    print(
        f"\nsecrets caught: {caught}/{len(SECRETS)} = {caught_rate:.1f}%"
        f"\nbenign snippets changed: {changed}/{len(BENIGN)} = {changed_rate:.1f}%"
    )
    assert caught_rate == 100.0
    assert changed_rate == 0.0


# -- markers, spans, overlaps ----------------------------------------------------------------

GITHUB_TOKEN = "ghp_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"


def test_marker_names_the_rule_and_keeps_no_part_of_the_secret(redactor: Redactor) -> None:
    out, count = redactor.redact_text(f"export GITHUB_TOKEN={GITHUB_TOKEN}\n")
    assert out == "export GITHUB_TOKEN=[REDACTED:github-token]\n"
    assert count == 1  # found by the GitHub rule and the GITHUB_TOKEN= rule: one finding
    assert marker("github-token") == "[REDACTED:github-token]"
    assert "ghp_" not in out


def test_only_the_value_is_replaced(redactor: Redactor) -> None:
    assert redactor.redact_text("password=hunter2 # dev") == (
        "password=[REDACTED:secret-assignment] # dev",
        1,
    )
    out, _ = redactor.redact_text("DATABASE_URL=postgres://app:Xk9vR2mQ7wL4@db.internal:5432/app")
    assert out == "DATABASE_URL=postgres://app:[REDACTED:url-password]@db.internal:5432/app"
    out, _ = redactor.redact_text("curl -H 'Authorization: Basic YWRtaW46czNjcjN0IQ==' x")
    assert out == "curl -H 'Authorization: Basic [REDACTED:authorization-header]' x"


def test_redaction_is_idempotent(redactor: Redactor) -> None:
    for row in SECRETS:
        once, _ = redactor.redact_text(row["context"])
        twice, count = redactor.redact_text(once)
        assert (twice, count) == (once, 0), row["context"]


def test_offsets_survive_non_ascii_text(redactor: Redactor) -> None:
    text = f"İstanbul 🧪 ключ: DB_PASSWORD=s3cr3t-ü ✓ {GITHUB_TOKEN} パスワード"
    out, count = redactor.redact_text(text)
    assert out == (
        "İstanbul 🧪 ключ: DB_PASSWORD=[REDACTED:secret-assignment] ✓ "
        "[REDACTED:github-token] パスワード"
    )
    assert count == 2


def test_truncated_private_key_is_redacted_but_documentation_is_not(redactor: Redactor) -> None:
    body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun" * 2
    out, _ = redactor.redact_text(f"$ head -3 id_rsa\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n")
    assert body[:12] not in out and "[REDACTED:private-key]" in out
    doc = 'key="-----BEGIN PRIVATE KEY-----\\nXXXX\\nXXXX\\n-----END PRIVATE KEY-----"'
    assert redactor.redact_text(doc) == (doc, 0)
    escaped = json.dumps({"out": f'-----BEGIN PRIVATE KEY-----\n{body}" done', "n": 1})
    out, _ = redactor.redact_text(escaped)  # the \ of \" is not part of the key
    assert json.loads(out) == {"out": '[REDACTED:private-key]" done', "n": 1}


@pytest.mark.parametrize(
    "text",
    [
        "api_key = os.environ['OPENAI_API_KEY']",
        "password = getpass()",
        "token = tokenizer.encode(text)",
        "Authorization: Bearer ${TOKEN}",
        '"usage": {"input_tokens": 1234, "output_tokens": 56, "cache_read_input_tokens": 7}',
        "max_tokens=4096",
        "password_policy: 12",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "id: 123e4567-e89b-12d3-a456-426614174000",
        '"integrity": "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs"',
        "password: changeme",
        "OPENAI_API_KEY=<your-key>",
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    ],
)
def test_ordinary_lines_survive(redactor: Redactor, text: str) -> None:
    assert redactor.redact_text(text) == (text, 0), describe_false_positives(redactor, text)


# -- team patterns ---------------------------------------------------------------------------


def test_team_patterns_redact_whole_matches_or_the_secret_group() -> None:
    r = Redactor([r"ACME-[0-9]{6}", r"internal_id=(?P<secret>\w+)"])
    out, count = r.redact_text("ticket ACME-123456 with internal_id=zz99 and token_count=3")
    assert out == "ticket [REDACTED:custom] with internal_id=[REDACTED:custom] and token_count=3"
    assert count == 2
    assert [rule.name for rule in r.rules[-2:]] == [CUSTOM_RULE_NAME, CUSTOM_RULE_NAME]


def test_team_patterns_alone_and_with_defaults() -> None:
    only = Redactor(["ACME-[0-9]+"], include_defaults=False)
    assert only.redact_text(f"ACME-1 {GITHUB_TOKEN}") == (f"[REDACTED:custom] {GITHUB_TOKEN}", 1)
    assert only.redact({"password": "hunter2"}) == ({"password": "hunter2"}, 0)
    both = Redactor(["ACME-[0-9]+"])
    assert both.redact_text(f"ACME-1 {GITHUB_TOKEN}") == (
        "[REDACTED:custom] [REDACTED:github-token]",
        2,
    )
    assert Redactor("ACME-[0-9]+").redact_text("ACME-7")[1] == 1  # one pattern as a string


def test_invalid_team_pattern_raises_a_clear_error() -> None:
    with pytest.raises(RedactionPatternError) as caught:
        Redactor(["fine-[0-9]+", "broken(["])
    error = caught.value
    assert isinstance(error, ValueError) and isinstance(error, TracesError)
    assert "broken([" in str(error)
    assert error.pattern == "broken(["
    assert "unterminated" in error.error or "missing" in error.error
    assert error.error in str(error)
    with pytest.raises(RedactionPatternError, match="non-empty string"):
        Redactor([42])  # type: ignore[list-item]
    with pytest.raises(RedactionPatternError):
        Redactor([""])


def test_a_team_rule_is_a_plain_rule() -> None:
    rule = Rule("ticket", re.compile(r"id=(\d+)"), group=1)
    assert list(rule.spans("a id=42 b id=7")) == [(5, 7), (13, 14)]


# -- structured data -------------------------------------------------------------------------


def test_nested_structures_are_redacted_and_copied(redactor: Redactor) -> None:
    value = {
        "password": "hunter2",
        "env": {"GITHUB_TOKEN": "abc", "HOME": "/home/dev", "CLAUDE_CODE_ENTRYPOINT": "cli"},
        "headers": {"Authorization": "Basic YWRtaW46aHVudGVyMg==", "Accept": "text/plain"},
        "containers": [{"name": "DB_PASSWORD", "value": "postgres"}, {"name": "X", "value": "1"}],
        "messages": [("user", f"my token is {GITHUB_TOKEN}"), 3, None, 2.5, True],
        "usage": {"input_tokens": 1234, "output_tokens": 56, "max_tokens": 4096},
        "login": {"username": "alice", "passphrase": "correct horse battery staple"},
        7: "no secret",
    }
    snapshot = json.dumps(value, default=str)
    out, count = redactor.redact(value)
    field = marker(FIELD_RULE_NAME)
    assert out == {
        "password": field,
        "env": {"GITHUB_TOKEN": field, "HOME": "/home/dev", "CLAUDE_CODE_ENTRYPOINT": "cli"},
        "headers": {"Authorization": field, "Accept": "text/plain"},
        "containers": [{"name": "DB_PASSWORD", "value": field}, {"name": "X", "value": "1"}],
        "messages": [("user", "my token is [REDACTED:github-token]"), 3, None, 2.5, True],
        "usage": {"input_tokens": 1234, "output_tokens": 56, "max_tokens": 4096},
        "login": {"username": "alice", "passphrase": field},
        7: "no secret",
    }
    assert count == 6
    assert json.dumps(value, default=str) == snapshot  # the input is not modified


@pytest.mark.parametrize(
    "value",
    [
        {"password": ""},
        {"password": None},
        {"token": "${GITHUB_TOKEN}"},
        {"api_key": "<your-key>"},
        {"api_key": "os.environ['OPENAI_API_KEY']"},
        {"input_tokens": 1234},
        {"max_tokens": "4096"},
        {"token_type": "Bearer"},
        {"auth": "oauth"},
        {"secret_name": "prod/db/password"},
        {"password_file": "/run/secrets/db"},
        {"token": "Invalid or expired token."},
        {"GITHUB_TOKEN": "$GH_TOKEN"},
    ],
)
def test_obvious_non_secrets_under_secret_keys_survive(redactor: Redactor, value: Any) -> None:
    assert redactor.redact(value) == (value, 0)


def test_non_strings_are_left_alone(redactor: Redactor) -> None:
    for value in (None, 3, 2.5, True, b"password=hunter2"):
        assert redactor.redact(value) == (value, 0)


# -- safety ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "piece",
    [
        "password: ",
        "-----BEGIN RSA PRIVATE KEY-----",
        "://a:",
        "eyJaaaaaaaaaaa.",
        "--token ",
        "name: x\nvalue",
        "<password>",
        "authorization: bearer ",
        "\\",
        "a_",
    ],
)
def test_pathological_input_completes(redactor: Redactor, piece: str) -> None:
    # Regexes are linear by construction (see the module docstring); timings are measured in
    # the benchmark, not asserted here. A catastrophic pattern would hang this test.
    text = piece * (200_000 // len(piece))
    out, _ = redactor.redact_text(text)
    assert isinstance(out, str)


def test_default_rules_are_public_and_documented() -> None:
    rules = redaction.DEFAULT_RULES
    assert rules and all(isinstance(rule, Rule) for rule in rules)
    assert all(isinstance(rule.pattern, re.Pattern) for rule in rules)
    docs = DOCS.read_text(encoding="utf-8")
    for name in {rule.name for rule in rules} | {FIELD_RULE_NAME, CUSTOM_RULE_NAME}:
        assert f"`{name}`" in docs, f"rule {name!r} is not in docs/redaction.md"


def test_a_default_rule_used_alone_finds_what_the_redactor_finds() -> None:
    rule = next(rule for rule in redaction.DEFAULT_RULES if rule.name == "secret-assignment")
    text = "é DB_PASSWORD=s3cr3t and password=password"
    assert list(rule.spans(text)) == [(14, 20)]
    assert text[14:20] == "s3cr3t"
