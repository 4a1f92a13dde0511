"""The one module that talks to the price library (genai-prices): USD per API response."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)
_SUFFIX = re.compile(r"\[[^\]]*\]$")  # Claude Code's context-window marker, e.g. "[1m]"


@dataclass(frozen=True)
class Cost:
    input_usd: float
    output_usd: float

    @property
    def total_usd(self) -> float:
        return self.input_usd + self.output_usd

    def as_mlflow(self) -> dict[str, float]:
        """MLflow's `mlflow.llm.cost` span attribute."""
        return {
            "input_cost": self.input_usd,
            "output_cost": self.output_usd,
            "total_cost": self.total_usd,
        }


def _n(usage: dict[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@lru_cache(maxsize=256)
def _warn_once(model: str, reason: str) -> None:
    log.warning("no price for model %r (%s): its turns carry no cost", model, reason)


def price(model: str | None, usage: dict[str, Any]) -> Cost | None:
    """The cost of one API response, or None when the model is unknown (never a guess)."""
    if not model:
        return None
    raw_split = usage.get("cache_creation")
    split: dict[str, Any] = raw_split if isinstance(raw_split, dict) else {}
    write_total = _n(usage, "cache_creation_input_tokens")
    counts = (
        _n(usage, "input_tokens"),
        _n(usage, "output_tokens"),
        _n(usage, "cache_read_input_tokens"),
        write_total,
        _n(split, "ephemeral_5m_input_tokens") if split else write_total,
        _n(split, "ephemeral_1h_input_tokens"),
    )
    return _price(_SUFFIX.sub("", model), counts)


# The span builder and the cost enrichment price the same responses: the second asks here.
@lru_cache(maxsize=4096)
def _price(name: str, counts: tuple[int, int, int, int, int, int]) -> Cost | None:
    from genai_prices import Usage, calc_price

    fresh, output, cache_read, write_total, write_5m, write_1h = counts
    # Anthropic's input_tokens excludes cache reads and writes; genai-prices expects them in.
    priced = Usage(
        input_tokens=fresh + cache_read + write_total,
        output_tokens=output,
        cache_read_tokens=cache_read,
        cache_write_tokens=write_total,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = calc_price(priced, model_ref=name, provider_id="anthropic")
    except LookupError as exc:
        _warn_once(name, str(exc)[:200])
        return None
    except Exception as exc:  # a price-library bug must not cost a trace
        _warn_once(name, f"{type(exc).__name__}: {exc}"[:200])
        return None
    return Cost(float(result.input_price), float(result.output_price))
