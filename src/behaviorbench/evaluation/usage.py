"""Tokens an API model was billed for, and what they cost at a price per million tokens.

Servers report `usage` (prompt and completion tokens) with every chat completion; the OpenAI
backend adds them up. A cost is only ever an estimate from a known price: the price given by the
user, or the model's row in the price table (`data/prices.yaml`, list prices with the date they
were read). A model in neither is "unknown", never a guess; replies served from the response cache
were not billed again and add no tokens.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field

from behaviorbench.errors import BehaviorBenchError

OPENAI_HOST = "api.openai.com"


class TokenUsage(BaseModel):
    """Tokens reported by the server over a run's requests."""

    requests: int = 0
    """Replies received (cache hits are not requests)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    without_usage: int = 0
    """Replies whose server reported no usage: their tokens are missing from the sums."""

    def add(self, usage) -> None:
        """Add one reply's `usage` object (the openai client's `CompletionUsage`, or None)."""
        self.requests += 1
        if usage is None:
            self.without_usage += 1
            return
        self.prompt_tokens += usage.prompt_tokens or 0
        self.completion_tokens += usage.completion_tokens or 0

    def plus(self, other: TokenUsage | None) -> TokenUsage:
        if other is None:
            return self
        return TokenUsage(**{k: getattr(self, k) + getattr(other, k) for k in TokenUsage.model_fields})

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Price(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str
    checked: str
    source: str
    openai: dict[str, Price]


class Cost(BaseModel):
    """An estimated cost, or why there is none."""

    usd: float | None
    """None: unknown (no price for this model, or tokens the server did not report)."""
    price: Price | None
    basis: str
    """Where the price came from, or why the cost is unknown."""


@lru_cache(maxsize=1)
def price_table() -> PriceTable:
    text = resources.files("behaviorbench.evaluation").joinpath("data/prices.yaml").read_text()
    return PriceTable.model_validate(yaml.safe_load(text))


def parse_price(text: str, option: str = "--price") -> Price:
    """`IN/OUT` dollars per million input and output tokens, e.g. `0.15/0.60`."""
    try:
        low, high = (float(part) for part in text.split("/"))
        return Price(input=low, output=high)
    except ValueError:
        raise BehaviorBenchError(
            f"{option} {text!r}: expected INPUT/OUTPUT dollars per million tokens, e.g. 0.15/0.60"
        ) from None


def table_price(model_spec: str, base_url: str | None) -> Price | None:
    """The listed price of an `openai:<model>` spec served by OpenAI itself; None otherwise."""
    kind, _, name = model_spec.partition(":")
    if kind != "openai" or (base_url and urlparse(base_url).hostname != OPENAI_HOST):
        return None
    return price_table().openai.get(name)


def estimate_cost(usage: TokenUsage | None, price: Price | None, basis: str) -> Cost | None:
    """The cost of `usage` at `price`; None when there is no usage (a local model)."""
    if usage is None:
        return None
    if price is None:
        return Cost(usd=None, price=None, basis=basis)
    if usage.without_usage:
        return Cost(usd=None, price=price, basis=f"{usage.without_usage} replies came without token usage")
    usd = (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1e6
    return Cost(usd=round(usd, 6), price=price, basis=basis)


def run_cost(
    model_spec: str, base_url: str | None, usage: TokenUsage | None, price: Price | None = None
) -> Cost | None:
    """A run's cost: at `price` when given, else at the table's price for the model, else unknown."""
    if price is not None:
        return estimate_cost(usage, price, "price given")
    listed = table_price(model_spec, base_url)
    table = price_table()
    basis = (
        f"price table ({table.source}, checked {table.checked})"
        if listed
        else "unknown: no price for this model (give one with --price IN/OUT)"
    )
    return estimate_cost(usage, listed, basis)
