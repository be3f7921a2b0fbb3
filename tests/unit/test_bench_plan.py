"""`python -m bench.run`'s options, and how the scaling runs add up runs made side by side."""

from __future__ import annotations

from collections import Counter

import pytest
from bench.load import LoadResult
from bench.run import parse_plan
from bench.scaling import address_of, limit_settings, merged


def test_short_plan_measures_scaling_and_sqlite_writers() -> None:
    plan = parse_plan(["--short"])

    assert plan.scaling_clients == 32
    assert plan.scaling_limits == (False,)
    assert plan.sqlite_writer_workers == [1]
    assert plan.sqlite_workers == [1]  # the embedded default, its writers measured on it
    assert plan.backends == ["postgres", "sqlite"]


def test_workers_given_apply_to_both_databases() -> None:
    plan = parse_plan(["--short", "--workers", "2"])

    assert plan.workers == [2]
    assert plan.sqlite_workers is None


def test_full_plan_also_measures_with_rate_limits_on() -> None:
    plan = parse_plan(["--full"])

    assert plan.scaling_limits == (False, True)
    assert plan.sqlite_writer_workers == [1, 2]


def test_extras_can_be_left_out() -> None:
    plan = parse_plan(["--short", "--scaling-clients", "none", "--sqlite-writers", "none"])

    assert plan.scaling_clients is None
    assert plan.sqlite_writer_workers == []


def test_help_still_parses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_plan(["--short", "--help"])

    assert exit_.value.code == 0
    assert "--scaling-clients" in capsys.readouterr().out


def test_side_by_side_runs_merge_into_one() -> None:
    first = LoadResult(16, 2.0, [0.01] * 100, Counter({200: 100}))
    second = LoadResult(16, 2.5, [0.03] * 50, Counter({200: 50, 503: 2}), Counter({"http_503": 2}))

    total = merged([first, second])

    assert total.concurrency == 32
    assert total.ok == 150
    assert total.errors == 2
    assert total.throughput == pytest.approx(150 / 2.5)
    assert total.statuses == Counter({200: 150, 503: 2})


def test_every_request_comes_from_its_own_address_with_limits_on() -> None:
    assert len({address_of(number) for number in range(70_000)}) == 70_000
    assert limit_settings(True, "redis://x")["TRUSTED_PROXIES"] == "127.0.0.1"
    assert "TRUSTED_PROXIES" not in limit_settings(False, None)
    assert "REDIS_URL" not in limit_settings(False, None)
