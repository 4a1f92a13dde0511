"""Security, issue 16 section 2: every secret the redaction rules document is redacted on the
way to the store. A session holding each rule's examples in every place a secret turns up
(bare, JSON, JSON-escaped, line start and end, URLs, headers) goes through the real hook, the
real `traces flush` exporter and a real MLflow store: no secret, nor any 12-character piece of
one, is in what was stored, and every rule left its marker."""

from __future__ import annotations

from pathlib import Path

from claudetracing.core import config as config_mod
from claudetracing.redaction import marker
from claudetracing.redaction.rules import default_rules
from tests.integration.test_redaction_pipeline import _session, _stored_text
from tests.tracing import fire_hook, stored_traces, traces
from tests.unit.test_redaction import leaks
from tests.unit.test_redaction_rules_generated import PLACES, TOKEN_PLACES

GITHUB_PAT = "github" + "_pat_" + "11BKQ7ZXA0Lm4Rt8Vw2Yp6_" + "Hs3Jd9Fg5Kc1Nx7Bv0Qz4Tr8We2Ua6Io" * 2
AWS_PAIR = "AKIA" + "Q3EGRNY5B7T2WX4M", "Mk/QwOH9JYm2hlBv" + "VSuR1jvfmYCfGh/VdDMWB398"


def _turns() -> tuple[list[str], list[str]]:
    """The prompt of each turn (every example of every rule, put in one place), and every
    secret in them."""
    contents: list[str] = []
    secrets: list[str] = []
    for place, wrap in PLACES.items():
        texts = []
        for rule in default_rules():
            for example in rule.examples:
                if place in TOKEN_PLACES and not example.standalone:
                    continue
                texts.append(wrap(example.text))
                secrets.append(example.secret)
        contents.append("\n\n".join(texts))
    # What issue 16 saw survive: a fine-grained GitHub token given to `gh`, an AWS key pair
    # printed without labels, a database password on a command line.
    contents.append(
        f"echo {GITHUB_PAT} | gh auth login --with-token\n"
        f"git clone https://{GITHUB_PAT}@github.com/acme/widgets.git\n"
        f"{AWS_PAIR[0]} / {AWS_PAIR[1]}\n"
        "mysql -h db.internal -u app -pHx7Tq2Wm9Lr4 app_production\n"
    )
    secrets += [GITHUB_PAT, AWS_PAIR[0], AWS_PAIR[1], "Hx7Tq2Wm9Lr4"]
    return contents, secrets


def test_no_documented_secret_reaches_the_store_through_the_real_exporter(
    repo: Path, local_store: Path, tmp_path: Path
) -> None:
    done = traces("init", "--local", "--yes", "--no-verify", cwd=repo)
    assert done.returncode == 0, done.stderr
    cfg = config_mod.load(repo)
    contents, secrets = _turns()
    folder = tmp_path / "projects" / "widgets"
    folder.mkdir(parents=True)
    transcript = _session(folder / "sess-1.jsonl", contents)
    assert fire_hook("Stop", transcript, repo).returncode == 0
    assert fire_hook("SessionEnd", transcript, repo).returncode == 0
    done = traces("flush", cwd=repo, timeout=300)
    assert done.returncode == 0, done.stderr

    found = stored_traces(cfg.tracking_uri, cfg.experiment)
    assert len(found) == len(contents)
    stored = "\n".join(_stored_text(trace) for trace in found)
    leaked = sorted({piece for secret in secrets if (piece := leaks(secret, stored))})
    assert leaked == [], f"{len(leaked)} secrets reached the store"
    missing = [r.name for r in default_rules() if marker(r.name) not in stored]
    assert missing == [], "rules that left no marker in the store"
    # The prompt, a Bash command and its output, a written file, a subagent: five copies at
    # least of every secret were redacted.
    redactions = sum(int(trace.info.tags["claudetracing.redactions"]) for trace in found)
    assert redactions >= 5 * len(secrets)
