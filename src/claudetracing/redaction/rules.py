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
from claudetracing.redaction.commands import OPTION_VALUE, SAME_COMMAND, option_finder
from claudetracing.redaction.judge import BARE_WORD, MAX_VALUE, machine_like, unlike_secret
from claudetracing.redaction.pem import PEM_BEGIN, private_key_finder
from claudetracing.redaction.rule import (
    Accept,
    BSpan,
    BuiltinRule,
    Example,
    Finder,
    Rule,
    text_of,
)

__all__ = ["DEFAULT_RULES", "default_rules", "trigger"]


def _lit(literal: str, before: str = "A-Za-z0-9") -> str:
    """`literal`, not preceded by a character of the class `before` (unless that character
    ends a JSON escape, as in `\\nghp_...`: a token at the start of a line of a JSON string).

    The look-behind comes after the literal so the regex still starts with the literal, which
    lets ``re`` jump from one occurrence to the next instead of trying every position.
    """
    lit = re.escape(literal)
    return f"{lit}(?:(?<![{before}]{lit})|(?<=\\\\[ntr]{lit}))"


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
# The value of a password option (`mysql -p...`, `sshpass -p ...`): any value, not the next
# option.
_accept_option_password = _accept_value(
    "v", numbers=True, also=lambda value: not value.startswith("-")
)


def _mixed_case_key(value: str) -> bool:
    # A secret access key is 40 random base64 characters: both cases and a digit, + or /
    # (a git SHA, a word or an id is not). AWS's documented example key is kept, as its id is.
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() or c in "+/" for c in value)
        and "EXAMPLE" not in value
    )


# A secret access key right after its key id, with no label (`AKIA... / <secret>`, CSV).
_accept_paired_aws_secret = _accept_value("v", also=_mixed_case_key)


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
# Commands that take a password as an option, and the option (its value follows it).
_MYSQL = _lit("mysql", "A-Za-z0-9_") + r"[a-z]*[ \t]"  # mysql, mysqldump, mysqladmin, ...
_MARIADB = _lit("mariadb", "A-Za-z0-9_") + r"[a-z-]*[ \t]"
_MYSQL_OPTION = r"-(?<![\w-]-)(?:p|-pass(?:word)?=)"  # -p<password>, --password=<password>
_REDIS_CLI = _lit("redis-cli", "A-Za-z0-9_-") + r"[ \t]"
_REDIS_OPTION = r"-(?<![\w-]-)(?:a|-pass)[ \t]+"  # -a <password>, --pass <password>


def _options(program: str, option: str) -> Callable[[], Finder]:
    return functools.partial(option_finder, program, option, _accept_option_password)


def _ex(*pieces: str, before: str = "", after: str = "") -> Example:
    return Example(pieces, before, after)


def _spec(
    name: str,
    regex: str,
    *,
    hints: tuple[str, ...],
    doc: str,
    examples: tuple[Example, ...],
    kind: str = "token",
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
        kind=kind,
        doc=doc,
        examples=examples,
    )


def _pem_key_base64() -> str:
    """A (cut) PEM private key, base64-encoded as Kubernetes secrets hold it."""
    pem = "-----BEGIN " + "PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END"
    return binascii.b2a_base64(pem.encode(), newline=False).decode()


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
            doc="PEM private key blocks, `-----BEGIN ... PRIVATE KEY-----` through `-----END ... "
            "PRIVATE KEY-----` (RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8, PGP `PRIVATE KEY "
            "BLOCK`), multi-line or JSON-escaped (`\\n`), with `Proc-Type`/`DEK-Info` headers; "
            "a truncated block (no END line) from BEGIN through its base64 lines. The whole "
            "block is replaced.",
            examples=(
                _ex(
                    "-----BEGIN RSA " + "PRIVATE KEY-----\n",
                    "7AewQKm5Fc43fmtjMbQCXMD/cplq/6GdshYxgT7QtCd3MT7jPkwQiBvUHAQbyfQu\n",
                    "GxRkgROi+Z4bqdelz6QMrDFg5xEw17ynGIFODPcK6PgVGoNq3vN3obI/jwSWCU03\n",
                    "-----END RSA " + "PRIVATE KEY-----",
                ),
            ),
        ),
        _spec(
            "private-key",
            _lit("LS0tLS1CRUdJTi", "A-Za-z0-9+") + r"[A-Za-z0-9+/]{40,}={0,2}",
            hints=("LS0tLS1CRUdJTi",),
            accept=_accept_base64_private_key,
            doc="Also a whole PEM private key encoded in base64 (`tls.key: LS0tLS1CRUdJTi...` "
            "in Kubernetes secrets); certificates and public keys are kept.",
            examples=(_ex(_pem_key_base64()),),
        ),
        _spec(
            "anthropic-api-key",
            _lit("sk-ant-", _TOKEN_CHARS) + r"[a-z]{2,10}\d{2}-[A-Za-z0-9_-]{20,}",
            hints=("sk-ant-",),
            doc="`sk-ant-api03-...`, `sk-ant-admin01-...`, and the other `sk-ant-<kind><nn>-` "
            "forms (e.g. Claude OAuth `sk-ant-oat01-`).",
            examples=(
                _ex(
                    "sk-ant-" + "api03-",
                    "CXxLgWwCOmi3xDZz6q6tyuObXBWEXWxH1KsrQZjgPfMBExxQDWDGf9GOQN",
                    "aXEWa_eKtQ8O3zi_9ei2G81tgkfAX21U8xbAA",
                ),
            ),
        ),
        _spec(
            "openai-api-key",
            _lit("sk-", _TOKEN_CHARS)
            + r"(?P<kind>(?:proj|svcacct|admin|None)-)?(?P<body>[A-Za-z0-9_-]{20,})",
            hints=("sk-",),
            accept=_accept_openai,
            doc="`sk-proj-...`, `sk-svcacct-...`, `sk-admin-...`, and bare `sk-` + 32 or more key "
            "characters with digits (legacy OpenAI keys and the many providers that copied the "
            "format).",
            examples=(
                _ex(
                    "sk-" + "proj-",
                    "txWOPGusMVyzH28XJHLGdri1Ib",
                    "aWGEZ1HZyoRUCrmtkaoChova8peItW3hJaZGOD",
                ),
            ),
        ),
        _spec(
            "databricks-token",
            _lit("dapi") + r"[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dapi",),
            doc="Personal access tokens: `dapi` + 32 hex, with an optional `-2` style suffix.",
            examples=(_ex("dapi", "954c4f261bff7a01", "cc4b417dcfeeea50"),),
        ),
        _spec(
            "databricks-oauth-secret",
            _lit("do") + r"(?:se|au)[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dose", "doau"),
            doc="`dose` + 32 hex (service principal OAuth secrets), `doau` + 32 hex (refresh "
            "tokens),",
            examples=(_ex("dose", "f21bc3bdaeaefe3b", "0a35c3fe313e570e"),),
        ),
        _spec(
            "databricks-oauth-secret",
            _lit("dkea") + r"[0-9a-h]{32}(?:-\d{1,3})?(?![A-Za-z0-9])",
            hints=("dkea",),
            doc="`dkea` + 32 hex.",
            examples=(_ex("dkea", "aef6900d606cb863", "9630c2b3ce5b9278"),),
        ),
        _spec(
            "aws-access-key-id",
            _lit("A") + r"(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9])(?<!EXAMPLE)",
            hints=("AKIA", "ASIA", "ABIA", "ACCA"),
            doc="`AKIA`, `ASIA`, `ABIA`, `ACCA` + 16 upper-case letters or digits (AWS's "
            "documented `...EXAMPLE` ids are kept).",
            examples=(_ex("AKIA", "5FX4KOCM", "X2BF4DU9"),),
        ),
        _spec(
            "aws-secret-access-key",
            r"secret[ _-]?access[ _-]?key(?:[ \t]*\[[^\]\n]{0,40}\])?\\?[\"']?[ \t]*[:=][ \t]*"
            r"\\?[\"']?(?P<v>[a-z0-9/+=]{40})(?![a-z0-9/+=])",
            hints=("access_key", "accesskey", "access-key", "access key"),
            lower=True,
            accept=_accept_token,
            doc="A 40-character secret access key after `aws_secret_access_key`, "
            "`SecretAccessKey`, `AWS_SECRET_ACCESS_KEY`, `AWS Secret Access Key [None]`, ... "
            "(`=` or `:`),",
            examples=(
                _ex(
                    "Mk/QwOH9JYm2hlBv",
                    "VSuR1jvfmYCfGh/VdDMWB398",
                    before="aws_secret_access_key = ",
                ),
                _ex(
                    "Q8gMK+4G+d3sX/Xp",
                    "ZQP6DHhKRZbq/xKEDgIrGpSg",
                    before="AWS Secret Access Key [None]: ",
                ),
            ),
        ),
        _spec(
            "aws-secret-access-key",
            _lit("A")
            + r"(?:KIA|SIA)[A-Z0-9]{16}(?:[ \t\r\n,:;|\"'/]|\\{1,3}[tnr\"]?){1,8}"
            + r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            hints=("AKIA", "ASIA"),
            gate=True,
            accept=_accept_paired_aws_secret,
            doc="and one printed right after its key id with no label: `AKIA... / <secret>`, "
            "`AKIA...,<secret>` (credentials CSV), `AKIA...<tab><secret>` (a mixed-case "
            "40-character value with a digit, `+` or `/`).",
            examples=(
                _ex(
                    "Mk/QwOH9JYm2hlBv",
                    "VSuR1jvfmYCfGh/VdDMWB398",
                    before="alice,AKIAIOSFODNN7EXAMPLE,",
                    after=",https://acme.signin.aws.amazon.com/console",
                ),
                _ex(
                    "Q8gMK+4G+d3sX/Xp",
                    "ZQP6DHhKRZbq/xKEDgIrGpSg",
                    before="deploy key: AKIAIOSFODNN7EXAMPLE / ",
                ),
            ),
        ),
        _spec(
            "github-token",
            _lit("gh") + r"[pousr]_[A-Za-z0-9]{30,}",
            hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
            doc="`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` tokens",
            examples=(_ex("ghp_", "JaVeU4EyfI4sEyQuh4EZ", "qf4RY6QmtHwy4jys"),),
        ),
        _spec(
            "github-token",
            _lit("github_pat_") + r"[A-Za-z0-9]{20,}_[A-Za-z0-9]{40,}",
            hints=("github_pat_",),
            doc="and fine-grained `github_pat_` tokens (`github_pat_` + 22 + `_` + 59 letters "
            "and digits).",
            examples=(
                _ex(
                    "github" + "_pat_",
                    "G9YRDcNRLt759xeImkG3nH_",
                    "XDiBDPtxDFHs2y4Y2aIf6J6FsdxYjhM5",
                    "Ntt0EyRIlYeFxtN6jX99Xj6KX0J",
                ),
            ),
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
            doc="`glpat-` and the other `gl...-` tokens (`gldt-`, `glrt-`, `glptt-`, `glcbt-`, "
            "`glsoat-`, `glft-`, `glimt-`, `glagent-`).",
            examples=(_ex("glpat-", "fVGILXD1Ea", "mtwp9rWLdo"),),
        ),
        _spec(
            "slack-token",
            _lit("x") + r"(?:ox(?:e\.xox)?[abposre]-[A-Za-z0-9-]{10,}|app-[A-Za-z0-9-]{20,})",
            hints=("xox", "xapp-"),
            doc="`xoxb-`, `xoxp-`, `xoxa-`, `xoxo-`, `xoxr-`, `xoxs-`, `xoxe-` tokens and "
            "`xapp-` app tokens.",
            examples=(_ex("xoxb-", "79747322820-1018198473236-", "JlsylqafaUum2e212JqY84xe"),),
        ),
        _spec(
            "slack-webhook",
            r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/-]{10,})",
            hints=("hooks.slack.com/",),
            group="s",
            doc="The secret path of `https://hooks.slack.com/services/...` (also `workflows/`, "
            "`triggers/`); the host is kept.",
            examples=(
                _ex(
                    "T8X6BSE1I/BG280405RLJ/",
                    "WQUmYLBMBl7kA7Dkbk49xJ00",
                    before="https://hooks.slack.com/services/",
                ),
            ),
        ),
        _spec(
            "webhook-url",
            r"(?:discord(?:app)?\.com/api/webhooks|\.webhook\.office\.com/webhookb2)"
            r"/(?P<s>[A-Za-z0-9_/@.-]{20,})",
            hints=("/api/webhooks/", ".webhook.office.com/"),
            gate=True,
            group="s",
            doc="The secret path of Discord (`discord.com/api/webhooks/...`) and Microsoft Teams "
            "(`*.webhook.office.com/webhookb2/...`) incoming webhooks.",
            examples=(
                _ex(
                    "7459620136470840253/",
                    "XZfbF8gCUxObEbvPb0Kv8iWrZe5ZoUZ7YlW_xO46s",
                    "K0KpIE3b6iRbwYH-ope_tmLtwVK",
                    before="https://discord.com/api/webhooks/",
                ),
            ),
        ),
        _spec(
            "google-api-key",
            _lit("AIza", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])",
            hints=("AIza",),
            doc="`AIza` + 35 characters.",
            examples=(_ex("AIza", "iYsGqQUBFQeQQdE_XIP", "WKC1K6iJuAzITItF"),),
        ),
        _spec(
            "google-oauth-client-secret",
            _lit("GOCSPX-", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{20,}",
            hints=("GOCSPX-",),
            doc="`GOCSPX-` client secrets.",
            examples=(_ex("GOCSPX-", "2ZYcZyDpTGn2YD", "0yFjFGQNEu3qHg"),),
        ),
        _spec(
            "stripe-key",
            _lit("sk_") + r"(?:live|test)_[A-Za-z0-9]{16,}",
            hints=("sk_live_", "sk_test_"),
            doc="`sk_live_`, `sk_test_` secret keys,",
            examples=(_ex("sk_" + "live_", "9rjtIvSgpLVF", "q40DiWs6qby1"),),
        ),
        _spec(
            "stripe-key",
            _lit("rk_") + r"(?:live|test)_[A-Za-z0-9]{16,}",
            hints=("rk_live_", "rk_test_"),
            doc="`rk_live_`, `rk_test_` restricted keys.",
            examples=(_ex("rk_" + "live_", "qInEcOV2CD5P", "X5X8DQv1p3t6"),),
        ),
        _spec(
            "stripe-webhook-secret",
            _lit("whsec_") + r"[A-Za-z0-9+/=]{24,}",
            hints=("whsec_",),
            doc="`whsec_` signing secrets.",
            examples=(_ex("whsec_", "6WLPbbsferyriXJ4", "NqDuY03gXm2ay7sD"),),
        ),
        _spec(
            "huggingface-token",
            _lit("hf_", "A-Za-z0-9_") + r"[A-Za-z0-9]{30,}",
            hints=("hf_",),
            doc="`hf_` + 30 or more letters and digits.",
            examples=(_ex("hf_", "sRFkH58nc5FgcNrEV", "wVtIIrlw5ukhdCxNy"),),
        ),
        _spec(
            "npm-token",
            _lit("npm_", "A-Za-z0-9_") + r"[A-Za-z0-9]{36,}",
            hints=("npm_",),
            doc="`npm_` + 36 or more letters and digits.",
            examples=(_ex("npm_", "OekN0PHXzMdBioRTrq", "GjgNGGOkj4k5bD1Y4G"),),
        ),
        _spec(
            "pypi-token",
            _lit("pypi-AgE") + r"[A-Za-z0-9_-]{50,}",
            hints=("pypi-AgE",),
            doc="`pypi-AgE...` upload tokens (pypi.org and test.pypi.org).",
            examples=(
                _ex(
                    "pypi-" + "AgEIcHlwaS5vcmc",
                    "2mMl5AHAbsXRO4tqHK92HPg9Yo6SbBnaspxLSbeDJbv3bG_YyisqEcQWRzbyYb",
                    "VjTv_5IZswgNojG4vbKL-3KBu_ZQxaeVzr5Qx7pAUGMA4DDycIQyAurs0T",
                ),
            ),
        ),
        _spec(
            "sendgrid-api-key",
            _lit("SG.") + r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
            hints=("SG.",),
            doc="`SG.<id>.<secret>`.",
            examples=(
                _ex(
                    "SG.", "62-jV_CmIWXgsIwuX5dYvN.", "zR0-sQKaTQv3GkXziAyipr8b32Dz9UKUeTT1kxHRiKb"
                ),
            ),
        ),
        _spec(
            "twilio-api-key",
            _lit("SK") + r"[0-9a-fA-F]{32}(?![A-Za-z0-9])",
            hints=("SK",),
            trigger=r"sk[0-9a-f]{32}",
            doc="`SK` + 32 hex (API key SIDs). A Twilio auth token is caught by "
            "`secret-assignment` when it is labelled (`TWILIO_AUTH_TOKEN=...`).",
            examples=(_ex("SK", "79461698cec3b003", "4815aeca23fcd417"),),
        ),
        _spec(
            "jwt",
            _lit("eyJ", _TOKEN_CHARS) + r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
            hints=("eyJ",),
            doc="JSON Web Tokens: `eyJ...` `.` `...` `.` `...` (three base64url segments).",
            examples=(
                _ex(
                    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
                    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIiwiaWF0IjoxNzE2MjM5MDIyfQ.",
                    "1bSsmAroEG7m91dZ8f5rHNy5UlvwJ_vVfXV6p8dnOkD",
                ),
            ),
        ),
        _spec(
            "azure-storage-key",
            r"key=(?:(?<=accountkey=)|(?<=sharedaccesskey=))(?P<v>[a-z0-9+/]{20,}={0,2})",
            hints=("accountkey=", "sharedaccesskey="),
            lower=True,
            group="v",
            doc="The value of `AccountKey=` / `SharedAccessKey=` in Azure connection strings.",
            examples=(
                _ex(
                    "65u6KcndyjrkedU+Fp9DCq49heqfSCd/B12LDtB9SJiies04",
                    "Bje0d2B/Vvgc86Z0g0nHQpvjsNy1z0lm2Neq0A==",
                    before="DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey=",
                    after=";EndpointSuffix=core.windows.net",
                ),
            ),
        ),
        _spec(
            "url-signature",
            r"(?:sig|signature|x-amz-security-token)=(?P<v>[a-z0-9%+/=_.-]{16,})",
            hints=("sig=", "signature=", "security-token="),
            lower=True,
            gate=True,
            finder=_signature_finder,
            doc="Signatures in signed URLs: `?sig=` / `&sig=` (Azure SAS), `&signature=`, "
            "`X-Amz-Signature=`, `X-Goog-Signature=`, `X-Amz-Security-Token=`.",
            examples=(
                _ex(
                    "XURhcrHtiWt5t6ou%2BwVpkt",
                    "ys8yEWNxxaGP5SVZn%2FAy4%3D",
                    before="https://acmelogs.blob.core.windows.net/exports/2024.csv"
                    "?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-01-01T00:00:00Z&sig=",
                ),
            ),
        ),
        _spec(
            "url-password",
            r"://(?P<user>[^\s:/@'\"`<>()\[\]{}\\]*):(?P<pw>[^\s/@'\"`<>()\[\]{}\\?#]+)@",
            hints=("://",),
            accept=_accept_url_password,
            kind="place",
            doc="The password in `scheme://user:password@host` (git remotes, database and "
            "broker URLs); user and host are kept. Placeholders (`user:password@`, "
            "`user:${PW}@`, `user:****@`) are kept.",
            examples=(
                _ex("Xk9vR2m", "Q7wL4", before="postgres://app:", after="@db.internal:5432/app"),
            ),
        ),
        _spec(
            "authorization-header",
            r"authorization\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?[ \t]*(?:bearer|basic|token|bot)"
            r"[ \t]+(?P<v>[a-z0-9._~+/=-]+)",
            hints=("authorization",),
            lower=True,
            accept=_accept_password,
            kind="place",
            doc="The credentials of an `Authorization:` header (`Bearer`, `Basic`, `token`, "
            "`Bot`), in curl commands, HTTP dumps, code and JSON. `Bearer ${TOKEN}`, `Bearer "
            '$TOKEN`, `Bearer <token>`, `f"Bearer {token}"` are kept.',
            examples=(
                _ex(
                    "ZGVwbG95Ok",
                    "hrOXZSMm1R",
                    before="curl -H 'Authorization: Basic ",
                    after="' https://api.example.com/v1/me",
                ),
            ),
        ),
        _spec(
            "bearer-token",
            _lit("bearer", "a-z0-9") + r"[ \t]+(?P<v>[a-z0-9._~+/=-]{16,})",
            hints=("bearer",),
            lower=True,
            accept=_accept_token,
            kind="place",
            doc="`Bearer <token>` without the header name, when the token looks generated (16+ "
            "characters with letters and digits).",
            examples=(_ex("rbopF9Vi6BPk3DAEp_Ix", "A_UpNDyI8fGyQa-Go_d9", before="sent Bearer "),),
        ),
        _spec(
            "cli-user-password",
            r"-(?<![\w-]-)(?:u|-user)[ \t=]+\\?[\"']?(?P<user>[^\s:\"'\\]+):(?P<pw>[^\s\"'\\]+)",
            hints=("-u", "--user"),
            accept=_accept_cli_password,
            kind="place",
            doc="The password in `curl -u user:password` / `--user user:password` (not `-u "
            "1000:1000` or `-u www-data:www-data`).",
            examples=(
                _ex(
                    "8PqBk3Oz",
                    "HBuOhS",
                    before="curl -u deploy:",
                    after=" https://api.example.com/v1/me",
                ),
            ),
        ),
        _spec(
            "cli-password",
            _MYSQL + SAME_COMMAND + _MYSQL_OPTION + OPTION_VALUE,
            hints=("mysql",),
            gate=True,
            finder=_options(_MYSQL, _MYSQL_OPTION),
            kind="place",
            doc="The password of a database or remote-login command: `mysql -p<password>` and "
            "`--password=<password>` (also `mysqldump`, `mysqladmin`, ... and `mariadb`),",
            examples=(
                _ex(
                    "8PqBk3Oz",
                    "HBuOhS",
                    before="mysqldump -h db.internal -u app -p",
                    after=" app_production > dump.sql",
                ),
                _ex("hunter", before="mysql -u root --password="),
            ),
        ),
        _spec(
            "cli-password",
            _MARIADB + SAME_COMMAND + _MYSQL_OPTION + OPTION_VALUE,
            hints=("mariadb",),
            gate=True,
            finder=_options(_MARIADB, _MYSQL_OPTION),
            kind="place",
            doc="",
            examples=(_ex("Xk9vR2m", "Q7wL4", before="mariadb -u app -p"),),
        ),
        _spec(
            "cli-password",
            _lit("sshpass", "A-Za-z0-9_-") + r"(?:[ \t]+-[vVe])*[ \t]+-p[ \t]*" + OPTION_VALUE,
            hints=("sshpass",),
            gate=True,
            accept=_accept_option_password,
            kind="place",
            doc="`sshpass -p <password>`,",
            examples=(
                _ex("8PqBk3Oz", "HBuOhS", before="sshpass -p '", after="' ssh deploy@10.0.0.5"),
            ),
        ),
        _spec(
            "cli-password",
            _REDIS_CLI + SAME_COMMAND + _REDIS_OPTION + OPTION_VALUE,
            hints=("redis-cli",),
            gate=True,
            finder=_options(_REDIS_CLI, _REDIS_OPTION),
            kind="place",
            doc="`redis-cli -a <password>` / `--pass <password>`. The `-p` of other tools (a "
            "port: `docker run -p 8080:80`, `ssh -p 2222`) is kept.",
            examples=(
                _ex(
                    "8PqBk3Oz",
                    "HBuOhS",
                    before="redis-cli -h cache.internal -a ",
                    after=" --no-auth-warning ping",
                ),
            ),
        ),
        _spec(
            "netrc-password",
            _lit("machine", "a-z0-9")
            + r"[ \t]+\S+\s+login[ \t]+\S+\s+password[ \t]+(?P<v>[^\s\"'\\]+)",
            hints=("machine",),
            lower=True,
            accept=_accept_password,
            kind="place",
            doc="The password of a `.netrc` entry (`machine ... login ... password ...`).",
            examples=(
                _ex(
                    "8PqBk3Oz",
                    "HBuOhS",
                    before="machine api.example.com login deploy password ",
                ),
            ),
        ),
        _spec(
            "secret-assignment",
            ASSIGNMENT,
            hints=HINTS,
            lower=True,
            finder=assignment_finder,
            flags=re.VERBOSE,
            kind="place",
            doc="A value assigned to a secret-looking key: see below.",
            examples=(
                _ex("s3cr3t", "-Pa55", before="DB_PASSWORD="),
                _ex("Xk9vR2m", "Q7wL4", before="PGPASSWORD=", after=" psql -h db.internal -U app"),
                _ex("Xk9vR2m", "Q7wL4", before="MYSQL_PWD=", after=" mysql -u app"),
                _ex(
                    "3f9c8a7b6e5d",
                    "4c3b2a1f0e9d",
                    before="https://api.example.com/v1/items?page=2&api_key=",
                    after="&limit=10",
                ),
                _ex(
                    "3f9c8a7b6e5d",
                    "4c3b2a1f0e9d",
                    before='curl -H "X-Api-Key: ',
                    after='" https://api.example.com/v1/items',
                ),
                _ex("3f9c8a7b6e5d", "4c3b2a1f0e9d", before='{"client_secret": "', after='"}'),
            ),
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
