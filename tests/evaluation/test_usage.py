"""Token usage and cost of API runs: the servers' `usage` summed into results.json, priced only
from a known price."""

from __future__ import annotations

import pytest
from evalserver import ChatServer

from behaviorbench.cli import main
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.evaluation.config import EvalConfig
from behaviorbench.evaluation.results import read_results
from behaviorbench.evaluation.runner import run_eval
from behaviorbench.evaluation.usage import Price, TokenUsage, parse_price, price_table, run_cost


def test_a_run_records_the_tokens_its_server_reported(dataset_dir, tmp_path):
    with ChatServer() as server:
        run_eval(EvalConfig(model="openai:rules", data=dataset_dir, base_url=server.url), tmp_path / "run")
        sent = server.requests
        run_eval(EvalConfig(model="openai:rules", data=dataset_dir, base_url=server.url), tmp_path / "again")
        assert server.requests == sent  # every reply came from the cache
    results = read_results(tmp_path / "run")
    # The test server reports one prompt and one completion token per reply.
    assert results.usage == TokenUsage(requests=sent, prompt_tokens=sent, completion_tokens=sent)
    assert results.cost.usd is None and results.cost.basis.startswith("unknown")
    assert read_results(tmp_path / "again").usage.requests == 0
    assert results.judge_usage is None and results.judge_cost is None


def test_a_price_given_to_eval_prices_the_run_in_results_json(dataset_dir, tmp_path):
    """`eval --price IN/OUT` writes the estimated cost at eval time; a resumed run prices all its tokens."""
    with ChatServer() as server:

        def price_eval(*extra: str) -> None:
            with pytest.raises(SystemExit) as exit:
                main(["eval", "--model", "openai:rules", "--data", str(dataset_dir), "--base-url", server.url,
                      "--price", "1/2", "--out", str(tmp_path / "run"), *extra])  # fmt: skip
            assert exit.value.code == 0

        price_eval("--limit", "2")
        first = server.requests
        price_eval()
        sent = server.requests
    assert 0 < first < sent
    results = read_results(tmp_path / "run")
    assert results.usage == TokenUsage(requests=sent, prompt_tokens=sent, completion_tokens=sent)
    assert results.cost.usd == pytest.approx(sent * (1 + 2) / 1e6)
    assert results.cost.price == Price(input=1, output=2) and results.cost.basis == "price given"


def test_cost_comes_from_the_table_only_for_openai_itself():
    usage = TokenUsage(requests=10, prompt_tokens=2_000_000, completion_tokens=500_000)
    listed = price_table().openai["gpt-4o-mini"]
    cost = run_cost("openai:gpt-4o-mini", None, usage)
    assert cost.usd == pytest.approx(2 * listed.input + 0.5 * listed.output)
    assert "price table" in cost.basis and price_table().checked in cost.basis
    # The same name behind another server, or a model the table does not list: unknown, no guess.
    assert run_cost("openai:gpt-4o-mini", "http://127.0.0.1:8000/v1", usage).usd is None
    assert run_cost("openai:some-new-model", None, usage).usd is None
    given = run_cost("openai:qwen", "http://127.0.0.1:8000/v1", usage, Price(input=1, output=2))
    assert given.usd == pytest.approx(3.0) and given.basis == "price given"
    assert run_cost("hf:smollm2-135m", None, None) is None  # local models have no usage
    partial = usage.model_copy(update={"without_usage": 3})
    assert run_cost("openai:gpt-4o-mini", None, partial).usd is None


def test_a_price_option_is_parsed_or_refused_in_one_line():
    assert parse_price("0.15/0.6") == Price(input=0.15, output=0.6)
    with pytest.raises(BehaviorBenchError, match=r"--price 'cheap': expected INPUT/OUTPUT"):
        parse_price("cheap")
