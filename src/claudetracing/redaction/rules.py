"""The built-in rules: the name, pattern and acceptor of each secret format, most specific first."""

# The rules run on the UTF-8 bytes of the text, and the case-insensitive ones on its ASCII-lowered
# copy (same offsets), so every regex can start with a literal that ``re`` jumps between. Every
# regex runs in linear time: each repetition is a single character class (or disjoint
# single-character branches) followed by something that class cannot match, so a failed attempt
# never re-splits what it consumed; judgement (is this value a secret?) is Python code run on the
# few candidates (`judge`). See ``docs/redaction.md``.

from __future__ import annotations

import binascii
import functools
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from claudetracing.redaction.assignments import ASSIGNMENT, HINTS, assignment_finder
from claudetracing.redaction.judge import BARE_WORD, MAX_VALUE, machine_like, unlike_secret
from claudetracing.redaction.pem import PEM_BEGIN, private_key_finder
from claudetracing.redaction.rule import Accept, BSpan, BuiltinRule, Finder, Rule, text_of

__all__ = ["DEFAULT_RULES", "default_rules", "trigger"]


def _lit(literal: str, before: str = "A-Za-z0-9") -> str:
    """`literal`, not preceded by a character of the class `before`.

    The look-behind comes after the literal so the regex still starts with the literal, which
    lets ``re`` jump from one occurrence to the next instead of trying every position.
    """
    lit = re.escape(literal)
    return f"{lit}(?<![{before}]{lit})"


# ---------------------------------------------------------------------------------------------
# Acceptors: each decides on one match and returns the span to redact, or None.


def _accept_value(
    group: str, *, numbers: bool = False, also: Callable[[str], bool] | None = None
) -> Accept:
    """Redact `group` unless it is obviously not a secret (numbers are, if `numbers` says so)
    or fails `also`."""

    def accept(data: bytes, m: re.Match[bytes]) -> BSpan | None:
        start, end = m.span(group)
        if end - start > MAX_VALUE:
            return None
        value = text_of(data[start:end])
        if unlike_secret(value, numbers=numbers):
            return None
        if also is not None and not also(value):
            return None
        return start, end

    return accept


def _cli_password(value: str) -> bool:
    # Not the next option ("-..."), nor a name: -u www-data:www-data (-u 1000:1000 is a number).
    return not value.startswith("-") and not BARE_WORD.fullmatch(value)


# A password is any real value; a token must also look generated.
_accept_password = _accept_value("v")
_accept_url_password = _accept_value("pw", numbers=True)
_accept_cli_password = _accept_value("pw", also=_cli_password)
_accept_token = _accept_value("v", also=machine_like)


def _accept_base64_private_key(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    # base64 of "-----BEGIN ..." (Kubernetes `tls.key: LS0tLS1CRUdJTi...`): a private key,
    # not a certificate or a public key.
    head = m.group()[:96]
    try:
        decoded = binascii.a2b_base64(head[: len(head) - len(head) % 4])
    except binascii.Error:
        return None
    return m.span() if b"PRIVATE KEY" in decoded else None


_DIGIT = re.compile(rb"[0-9]")
_LONG_RUN = re.compile(rb"[A-Za-z0-9]{20}")


def _accept_openai(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    if m.group("kind"):
        return m.span()
    body = m.group("body")
    # A bare `sk-` needs a key-like body, not a slug such as sk-learn-compatible-estimators-2024.
    if len(body) < 32 or _DIGIT.search(body) is None or _LONG_RUN.search(body) is None:
        return None
    return m.span()


_QUERY_STARTS = (b"?", b"&", b"?x-amz-", b"&x-amz-", b"?x-goog-", b"&x-goog-")


def _accept_signature(data: bytes, m: re.Match[bytes]) -> BSpan | None:
    # Only as a URL query parameter: ?sig=, &signature=, &X-Amz-Signature=, &X-Goog-Signature=.
    if not data[max(0, m.start() - 8) : m.start()].lower().endswith(_QUERY_STARTS):
        return None
    return _accept_token(data, m)


def _signature_finder() -> Finder:
    # One pass per parameter, in this order, each with its own acceptor.
    passes = tuple(
        (re.compile(param + rb"=(?P<v>[a-z0-9%+/=_.-]{16,})"), accept)
        for param, accept in (
            (b"signature", _accept_signature),
            (b"sig", _accept_signature),
            (b"x-amz-security-token", _accept_token),
        )
    )

    def find(data: bytes, low: bytes) -> Iterator[BSpan]:
        for rx, accept in passes:
            for m in rx.finditer(low):
                span = accept(data, m)
                if span is not None:
                    yield span

    return find


# ---------------------------------------------------------------------------------------------
# The default rules, most specific first: on overlap, the earlier rule names the finding.

_TOKEN_CHARS = "A-Za-z0-9_-"


def _spec(
    name: str,
    regex: str,
    *,
    hints: tuple[str, ...],
    trigger: str = "",
    gate: bool = False,
    group: str | None = None,
    lower: bool = False,
    accept: Accept | None = None,
    finder: Callable[[], Finder] | None = None,
    flags: int = 0,
) -> BuiltinRule:
    lowered = tuple(h.lower() for h in hints)
    return BuiltinRule(
        name=name,
        pattern=re.compile(regex, flags | (re.IGNORECASE if lower else 0)),
        group=group,
        fast=None if finder else re.compile(regex.encode(), flags),
        lower=lower,
        hints=tuple(h.encode() for h in lowered),
        trigger=trigger or "|".join(re.escape(h) for h in lowered),
        gate=gate,
        accept=accept,
        finder=finder() if finder else None,
    )


@functools.cache
def default_rules() -> tuple[BuiltinRule, ...]:
    """Compiled on first use, so importing this module stays cheap."""
    return (
        _spec(
            "private-key",
            PEM_BEGIN,
            hints=("PRIVATE KEY",),
            gate=True,
            finder=private_key_finder,
        ),
        _spec(
            "private-key",
            _lit("LS0tLS1CRUdJTi", "A-Za-z0-9+/") + r"[A-Za-z0-9+/]{40,}={0,2}",
            hints=("LS0tLS1CRUdJTi",),
            accept=_accept_base64_private_key,
        ),
        _spec(
            "anthropic-api-key",
            _lit("sk-ant-", _TOKEN_CHARS) + r"[a-z]{2,10}\d{2}-[A-Za-z0-9_-]{20,}",
            hints=("sk-ant-",),
        ),
        _spec(
            "openai-api-key",
            _lit("sk-", _TOKEN_CHARS)
            + r"(?P<kind>(?:proj|svcacct|admin|None)-)?(?P<body>[A-Za-z0-9_-]{20,})",
            hints=("sk-",),
            accept=_accept_openai,
        ),
        _spec(
            "databricks-token",
            _lit("dapi") + r"[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dapi",),
        ),
        _spec(
            "databricks-oauth-secret",
            _lit("do") + r"(?:se|au)[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dose", "doau"),
        ),
        _spec(
            "databricks-oauth-secret",
            _lit("dkea") + r"[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dkea",),
        ),
        _spec(
            "aws-access-key-id",
            _lit("A") + r"(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])(?<!EXAMPLE)",
            hints=("AKIA", "ASIA", "ABIA", "ACCA"),
        ),
        _spec(
            "github-token",
            _lit("gh") + r"(?:[pousr]_[A-Za-z0-9]{30,}|ithub_pat_[A-Za-z0-9_]{40,})",
            hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        ),
        _spec(
            "gitlab-token",
            _lit("gl") + r"(?:pat|dt|rt|ptt|cbt|soat|ft|imt|agent)-[A-Za-z0-9_-]{20,}",
            hints=(
                "glpat-",
                "gldt-",
                "glrt-",
                "glptt-",
                "glcbt-",
                "glsoat-",
                "glft-",
                "glimt-",
                "glagent-",
            ),
        ),
        _spec(
            "slack-token",
            _lit("x") + r"(?:ox(?:e\.xox)?[abposre]-[A-Za-z0-9-]{10,}|app-[A-Za-z0-9-]{20,})",
            hints=("xox", "xapp-"),
        ),
        _spec(
            "slack-webhook",
            r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/-]{10,})",
            hints=("hooks.slack.com/",),
            group="s",
        ),
        _spec(
            "webhook-url",
            r"(?:discord(?:app)?\.com/api/webhooks|\.webhook\.office\.com/webhookb2)"
            r"/(?P<s>[A-Za-z0-9_/@.-]{20,})",
            hints=("/api/webhooks/", ".webhook.office.com/"),
            gate=True,
            group="s",
        ),
        _spec(
            "google-api-key",
            _lit("AIza", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])",
            hints=("AIza",),
        ),
        _spec(
            "google-oauth-client-secret",
            _lit("GOCSPX-", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{20,}",
            hints=("GOCSPX-",),
        ),
        _spec(
            "stripe-key",
            _lit("sk_") + r"(?:live|test)_[A-Za-z0-9]{16,}",
            hints=("sk_live_", "sk_test_"),
        ),
        _spec(
            "stripe-key",
            _lit("rk_") + r"(?:live|test)_[A-Za-z0-9]{16,}",
            hints=("rk_live_", "rk_test_"),
        ),
        _spec("stripe-webhook-secret", _lit("whsec_") + r"[A-Za-z0-9+/=]{24,}", hints=("whsec_",)),
        _spec(
            "huggingface-token",
            _lit("hf_", "A-Za-z0-9_") + r"[A-Za-z0-9]{30,}",
            hints=("hf_",),
        ),
        _spec("npm-token", _lit("npm_", "A-Za-z0-9_") + r"[A-Za-z0-9]{36,}", hints=("npm_",)),
        _spec("pypi-token", _lit("pypi-AgE") + r"[A-Za-z0-9_-]{50,}", hints=("pypi-AgE",)),
        _spec(
            "sendgrid-api-key",
            _lit("SG.") + r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
            hints=("SG.",),
        ),
        _spec(
            "twilio-api-key",
            _lit("SK") + r"[0-9a-fA-F]{32}(?![A-Za-z0-9])",
            hints=("SK",),
            trigger=r"sk[0-9a-f]{32}",
        ),
        _spec(
            "jwt",
            _lit("eyJ", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
            hints=("eyJ",),
        ),
        _spec(
            "azure-storage-key",
            r"key=(?:(?<=accountkey=)|(?<=sharedaccesskey=))(?P<v>[a-z0-9+/]{20,}={0,2})",
            hints=("accountkey=", "sharedaccesskey="),
            lower=True,
            group="v",
        ),
        _spec(
            "url-signature",
            r"(?:sig|signature|x-amz-security-token)=(?P<v>[a-z0-9%+/=_.-]{16,})",
            hints=("sig=", "signature=", "security-token="),
            lower=True,
            gate=True,
            finder=_signature_finder,
        ),
        _spec(
            "aws-secret-access-key",
            r"secret[_-]?access[_-]?key\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
            r"(?P<v>[a-z0-9/+=]{40})(?![a-z0-9/+=])",
            hints=("access_key", "accesskey", "access-key"),
            lower=True,
            accept=_accept_token,
        ),
        _spec(
            "url-password",
            r"://(?P<user>[^\s:/@'\"`<>()\[\]{}\\]*):(?P<pw>[^\s/@'\"`<>()\[\]{}\\?#]+)@",
            hints=("://",),
            accept=_accept_url_password,
        ),
        _spec(
            "authorization-header",
            r"authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[ \t]*(?:bearer|basic|token|bot)"
            r"[ \t]+(?P<v>[a-z0-9._~+/=-]+)",
            hints=("authorization",),
            lower=True,
            accept=_accept_password,
        ),
        _spec(
            "bearer-token",
            _lit("bearer", "a-z0-9") + r"[ \t]+(?P<v>[a-z0-9._~+/=-]{16,})",
            hints=("bearer",),
            lower=True,
            accept=_accept_token,
        ),
        _spec(
            "cli-user-password",
            r"-(?<![\w-]-)(?:u|-user)[ \t=]+\\?[\"']?(?P<user>[^\s:\"'\\]+):(?P<pw>[^\s\"'\\]+)",
            hints=("-u", "--user"),
            accept=_accept_cli_password,
        ),
        _spec(
            "netrc-password",
            _lit("machine", "a-z0-9")
            + r"[ \t]+\S+\s+login[ \t]+\S+\s+password[ \t]+(?P<v>[^\s\"'\\]+)",
            hints=("machine",),
            lower=True,
            accept=_accept_password,
        ),
        _spec(
            "secret-assignment",
            ASSIGNMENT,
            hints=HINTS,
            lower=True,
            finder=assignment_finder,
            flags=re.VERBOSE,
        ),
    )


@functools.cache
def trigger() -> re.Pattern[bytes]:
    """One regex that finds whether any built-in rule can fire (on the lowered text)."""
    return re.compile("|".join(rule.trigger for rule in default_rules()).encode())


if TYPE_CHECKING:
    DEFAULT_RULES: tuple[Rule, ...]


def __getattr__(name: str) -> Any:
    # DEFAULT_RULES is built on first access (PEP 562): compiling ~60 regexes costs ~20 ms.
    if name == "DEFAULT_RULES":
        return default_rules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
