"""Every built-in redaction rule, tested from its own examples in every place a secret turns up.

The cases are generated from the rule list (`claudetracing.redaction.rules.default_rules`):
each rule carries realistic examples, and each example is redacted bare, in JSON, JSON-escaped
inside a JSON string, at the start and at the end of a line, and (a token found by its shape)
in a URL's user-info and query string and in an HTTP header. Every time, exactly the secret is
replaced by the rule's marker and everything around it is kept. A new rule gets these tests, and
its row in docs/redaction.md, from its definition.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from claudetracing.redaction import Redactor, marker
from claudetracing.redaction.rule import BuiltinRule, Example
from claudetracing.redaction.rules import default_rules
from tests import generated_docs
from tests.corpus.stored import CORPUS as REAL_CORPUS

ROOT = Path(__file__).resolve().parents[2]
RULES_SOURCE = ROOT / "src" / "claudetracing" / "redaction" / "rules.py"

# Where a secret turns up in a transcript: each place wraps a piece of text.
PLACES: dict[str, Callable[[str], str]] = {
    "bare": lambda s: s,
    "json": lambda s: json.dumps({"type": "tool_result", "content": s}),
    "json-escaped": lambda s: json.dumps({"type": "text", "text": json.dumps({"output": s})}),
    "line-start": lambda s: f"$ cat notes.txt\n{s} <- from the console\n$ ls",
    "line-end": lambda s: f"$ cat notes.txt\ncopied from the console: {s}\n$ ls",
    # A line of a JSON string: `\n` (two characters) right before or after the secret.
    "json-line-start": lambda s: json.dumps({"out": PLACES["line-start"](s)}),
    "json-line-end": lambda s: json.dumps({"out": PLACES["line-end"](s)}),
    "url-userinfo": lambda s: f"git clone https://{s}@github.com/acme/widgets.git",
    "url-query": lambda s: f"curl 'https://api.example.com/v1/items?page=2&key={s}&limit=10'",
    "http-header": lambda s: f"curl -H 'Authorization: Bearer {s}' https://api.example.com/v1",
}
# Only a token found by its shape can sit inside a URL or a header; a credential found by where
# it is (`password=...`, `postgres://user:pw@...`) brings its URL or header in its own examples.
TOKEN_PLACES = ("url-userinfo", "url-query", "http-header")
JSON_PLACES = ("json", "json-escaped", "json-line-start", "json-line-end")


def _cases() -> list[Any]:
    cases = []
    for index, rule in enumerate(default_rules()):
        for number, example in enumerate(rule.examples):
            for place in PLACES:
                if place in TOKEN_PLACES and not example.standalone:
                    continue
                case = (rule, example, place)
                cases.append(pytest.param(*case, id=f"{index:02d}-{rule.name}-{number}-{place}"))
    return cases


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(("rule", "example", "place"), _cases())
def test_each_rule_redacts_its_example_wherever_it_is(
    redactor: Redactor, rule: BuiltinRule, example: Example, place: str
) -> None:
    wrap = PLACES[place]
    text = wrap(example.text)
    expected = wrap(example.before + marker(rule.name) + example.after)
    out, count = redactor.redact_text(text)
    assert (out, count) == (expected, 1), f"{rule.name} in {place}: {text!r}"
    if place in JSON_PLACES:
        # The exporter redacts parsed records: the same, string by string.
        assert redactor.redact(json.loads(text)) == (json.loads(expected), 1)


@pytest.mark.parametrize(
    "rule", default_rules(), ids=[f"{i:02d}-{r.name}" for i, r in enumerate(default_rules())]
)
def test_each_rule_finds_its_own_examples_alone(rule: BuiltinRule) -> None:
    """Not thanks to another rule: the rule used alone finds exactly each example's secret."""
    assert rule.examples, f"rule {rule.name!r} has no example: add one to its definition"
    assert rule.kind in ("token", "place")
    for example in rule.examples:
        start = len(example.before)
        assert list(rule.spans(example.text)) == [(start, start + len(example.secret))], example


def test_no_example_sits_whole_in_the_source() -> None:
    """Examples are joined from pieces, so a secret scanner reading the repository (GitHub push
    protection) sees no whole token."""
    source = RULES_SOURCE.read_text(encoding="utf-8")
    whole = [
        example.secret
        for rule in default_rules()
        for example in rule.examples
        if len(example.secret) >= 16 and example.secret in source
    ]
    assert whole == []


def test_the_rule_tables_of_the_docs_are_generated_from_the_rules() -> None:
    done = generated_docs.check("redaction_docs.py")
    assert done.returncode == 0, (
        "docs/redaction.md is stale: run `python scripts/redaction_docs.py`\n" + done.stderr
    )
    docs = (ROOT / "docs" / "redaction.md").read_text(encoding="utf-8")
    for rule in default_rules():
        assert f"| `{rule.name}` |" in docs


# -- the gaps closed: what must be redacted, and what must not ---------------------------------

GITHUB_PAT = (
    "github" + "_pat_" + "11ABCDEFG0aB3dE6gH9jK2_" + "mN5pQ8sT1vW4yZ7bC0eF3hJ6" * 2 + "Xy9Kq2Lm7Zp"
)
AWS_ID = "AKIA" + "Q3EGRNY5B7T2WX4M"
AWS_SECRET = "Mk/QwOH9JYm2hlBv" + "VSuR1jvfmYCfGh/VdDMWB398"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GITHUB_PAT, "[REDACTED:github-token]"),
        (
            f"git clone https://{GITHUB_PAT}@github.com/acme/widgets.git",
            "git clone https://[REDACTED:github-token]@github.com/acme/widgets.git",
        ),
        (
            f"echo {GITHUB_PAT} | gh auth login --with-token",
            "echo [REDACTED:github-token] | gh auth login --with-token",
        ),
        (
            f"{AWS_ID} / {AWS_SECRET}",
            "[REDACTED:aws-access-key-id] / [REDACTED:aws-secret-access-key]",
        ),
        (
            f"Access key ID,Secret access key\n{AWS_ID},{AWS_SECRET}\n",
            "Access key ID,Secret access key\n"
            "[REDACTED:aws-access-key-id],[REDACTED:aws-secret-access-key]\n",
        ),
        (
            f"ACCESSKEY\t{AWS_ID}\t{AWS_SECRET}\tActive",
            "ACCESSKEY\t[REDACTED:aws-access-key-id]\t[REDACTED:aws-secret-access-key]\tActive",
        ),
        (
            f"AWS Secret Access Key [****************WX4M]: {AWS_SECRET}",
            "AWS Secret Access Key [****************WX4M]: [REDACTED:aws-secret-access-key]",
        ),
        ("mysql -u root -proot app", "mysql -u root -p[REDACTED:cli-password] app"),
        (
            "mysql -h db -u app -p'hunter2' -e 'show tables'",
            "mysql -h db -u app -p'[REDACTED:cli-password]' -e 'show tables'",
        ),
        (
            "mysqldump --password=letmein app > a.sql",
            "mysqldump --password=[REDACTED:cli-password] app > a.sql",
        ),
        (
            "PGPASSWORD=postgres psql -h localhost -U app",
            "PGPASSWORD=[REDACTED:secret-assignment] psql -h localhost -U app",
        ),
        ("MYSQL_PWD=postgres mysql -u app", "MYSQL_PWD=[REDACTED:secret-assignment] mysql -u app"),
        (  # a command of a JSON string, on the line after another: `\nPGPASSWORD=`
            json.dumps({"command": "set -e\nPGPASSWORD=hunter psql -h db"}),
            json.dumps({"command": "set -e\nPGPASSWORD=[REDACTED:secret-assignment] psql -h db"}),
        ),
        (
            json.dumps({"command": "cd app\nMYSQL_PWD=hunter mysql -u app"}),
            json.dumps({"command": "cd app\nMYSQL_PWD=[REDACTED:secret-assignment] mysql -u app"}),
        ),
        (
            "sshpass -p hunter ssh -p 2222 deploy@10.0.0.5",
            "sshpass -p [REDACTED:cli-password] ssh -p 2222 deploy@10.0.0.5",
        ),
        (
            'redis-cli -h cache -p 6379 -a "s3cret" ping',
            'redis-cli -h cache -p 6379 -a "[REDACTED:cli-password]" ping',
        ),
        (
            "kubectl exec -it db-0 -- mysql -uroot -pTr0ub4dor -e 'select 1'",
            "kubectl exec -it db-0 -- mysql -uroot -p[REDACTED:cli-password] -e 'select 1'",
        ),
    ],
)
def test_the_gaps_are_closed(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact_text(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "docker run -d -p 8080:80 --name web nginx",
        "docker run --name db -e MYSQL_ROOT_PASSWORD=$PW -p 3306:3306 mysql:8",
        "ssh -p 2222 deploy@10.0.0.5",
        "mysql -u root -p",
        "mysql -u root -p app_production < dump.sql",
        "mysql -h db.internal -P 3306 -u app -p",
        'mysql -u app -p"$MYSQL_PASSWORD" app',
        "mysql -u app -p${DB_PASS} app",
        "mysql --protocol=tcp --port=3306 -u app",
        "mysql -u root --skip-password",
        "pip install mysqlclient && python -m pytest -p no:cacheprovider",
        "redis-cli -h cache -p 6379 ping",
        "redis-cli --askpass",
        "sshpass -f ~/.ssh/pw ssh -p 2222 deploy@10.0.0.5",
        "`mysql -u root -p` asks for the password",
        "mysql -u root -p<password>",
        "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AKIAIOSFODNN7EXAMPLE 3f786850e387550fdab836ed7e6dc881de23001b",
        "AKIAIOSFODNN7EXAMPLE,SecretAccessKeyOfTheExampleAccountIsHere",
        "ls -la ~/.aws && mkdir -p ~/.aws/cli",
    ],
)
def test_ordinary_command_lines_are_kept(redactor: Redactor, text: str) -> None:
    assert redactor.redact_text(text) == (text, 0), redactor.find(text)


def test_the_real_corpus_comes_back_unchanged(redactor: Redactor) -> None:
    """Real Claude Code sessions (tests/corpus/real) hold no secret: nothing in them changes."""
    paths = sorted(REAL_CORPUS.rglob("*.jsonl"))
    assert len(paths) >= 10
    changed = []
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            out, count = redactor.redact(record)
            if count or out != record:
                changed.append(f"{path.name}: {redactor.find(line)}")
    assert changed == []
