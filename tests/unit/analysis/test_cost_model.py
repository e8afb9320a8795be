"""The cost model's arithmetic: FLOPs, memory, the fit of stage rates and the job schedule."""

from __future__ import annotations

import math

import pytest

from instructmtl.analysis.cost_model import (
    GIB,
    DeviceClass,
    JobWork,
    Measured,
    ModelShape,
    StageRate,
    estimate_study,
    fit_device,
    flops,
    gpu_device,
    peak_memory_bytes,
    schedule,
)

SHAPE = ModelShape(params=1_100_000, embedding_params=100_000, vocab=1000, hidden=100, layers=4, heads=4)


def test_flops_follow_two_n_forward_and_six_n_trained() -> None:
    """Without attention and logits, a scored token costs 2N and a trained one 6N (N non-embedding)."""
    scored = JobWork("a", "eval", forward_tokens=10.0)
    trained = JobWork("b", "tune", trained_tokens=10.0)
    assert flops(scored, SHAPE) == pytest.approx(2 * 1_000_000 * 10)
    assert flops(trained, SHAPE) == pytest.approx(6 * 1_000_000 * 10)


def test_attention_and_logits_add_their_terms() -> None:
    base = JobWork("a", "eval", forward_tokens=10.0)
    longer = JobWork("a", "eval", forward_tokens=10.0, mean_length=50.0)
    with_logits = JobWork("a", "eval", forward_tokens=10.0, logit_tokens=3.0)
    assert flops(longer, SHAPE) - flops(base, SHAPE) == pytest.approx(10 * 2 * 4 * 100 * 50)
    assert flops(with_logits, SHAPE) - flops(base, SHAPE) == pytest.approx(3 * 2 * 1000 * 100)


def test_training_needs_more_memory_than_scoring_and_lora_less_than_full() -> None:
    scoring = JobWork("e", "eval", micro_batch=8, peak_length=256)
    full = JobWork("t", "tune", trained_params=SHAPE.params, micro_batch=8, peak_length=256)
    lora = JobWork("t", "tune", trained_params=SHAPE.params // 100, micro_batch=8, peak_length=256)
    assert peak_memory_bytes(scoring, SHAPE) < peak_memory_bytes(full, SHAPE)
    assert peak_memory_bytes(lora, SHAPE) < peak_memory_bytes(full, SHAPE)
    # full training: weights 4 B + gradient and two AdamW moments 12 B per parameter, at least
    assert peak_memory_bytes(full, SHAPE) > 16 * SHAPE.params


def test_a_grid_stays_within_its_budget_unless_one_member_is_larger() -> None:
    one = JobWork("g", "transfer", trained_params=SHAPE.params, micro_batch=4, peak_length=64, models_in_memory=1)
    many = JobWork(
        "g",
        "transfer",
        trained_params=SHAPE.params,
        micro_batch=4,
        peak_length=64,
        models_in_memory=1000,
        grid_memory_gib=0.5,
    )
    assert peak_memory_bytes(many, SHAPE) <= 4 * SHAPE.params + 0.5 * GIB + 1
    tiny_budget = JobWork(
        "g",
        "transfer",
        trained_params=SHAPE.params,
        micro_batch=4,
        peak_length=64,
        models_in_memory=1000,
        grid_memory_gib=1e-6,
    )
    assert peak_memory_bytes(tiny_budget, SHAPE) >= peak_memory_bytes(one, SHAPE)


def test_fit_recovers_known_overhead_and_rate() -> None:
    """Jobs at two FLOP levels per stage, timed exactly as ``3 s + flops / 2e9``: the fit returns both."""
    samples = [Measured(stage, f, 3.0 + f / 2e9) for stage in ("tune", "eval", "transfer") for f in (1e9, 1e10, 4e10)]
    device = fit_device("cpu", 24.0, samples, "synthetic")
    for rate in device.rates.values():
        assert rate.overhead_seconds == pytest.approx(3.0)
        assert rate.flops_per_second == pytest.approx(2e9)


def test_fit_with_one_flop_level_puts_everything_in_the_rate() -> None:
    samples = [Measured(stage, 1e10, s) for stage in ("tune", "eval", "transfer") for s in (4.0, 5.0, 6.0)]
    device = fit_device("cpu", 24.0, samples, "one level")
    assert device.rates["tune"].overhead_seconds == 0.0
    assert device.rates["tune"].flops_per_second == pytest.approx(1e10 / 5.0)


def test_fit_refuses_a_stage_without_samples() -> None:
    with pytest.raises(ValueError, match="no measured transfer job"):
        fit_device("cpu", 24.0, [Measured("tune", 1.0, 1.0), Measured("eval", 1.0, 1.0)], "")


def test_schedule_packs_independent_jobs_and_waits_for_dependencies() -> None:
    independent = [("a", (), 4.0), ("b", (), 4.0), ("c", (), 4.0), ("d", (), 4.0)]
    assert schedule(independent, workers=2) == pytest.approx(8.0)
    assert schedule(independent, workers=1) == pytest.approx(16.0)
    # c needs a (ends at 10); b and d run meanwhile on the other worker: c starts at 10, ends at 11
    chain = [("a", (), 10.0), ("b", (), 2.0), ("c", ("a",), 1.0), ("d", (), 2.0)]
    assert schedule(chain, workers=2) == pytest.approx(11.0)


def test_schedule_takes_a_later_ready_job_while_an_earlier_one_waits() -> None:
    """The executor never idles a worker on a blocked job when a later one is ready."""
    jobs = [("tune", (), 10.0), ("eval", ("tune",), 5.0), ("base", (), 3.0)]
    assert schedule(jobs, workers=2) == pytest.approx(15.0)


def test_gpu_device_prices_from_peak_and_utilisation() -> None:
    device = gpu_device(100.0, 80.0)
    work = JobWork("t", "tune", trained_tokens=1e6)
    expected = device.rates["tune"].overhead_seconds + flops(work, SHAPE) / (100e12 * 0.35)
    assert device.seconds(work, SHAPE) == pytest.approx(expected)


def test_device_round_trips_through_a_dict() -> None:
    device = DeviceClass(
        "cpu-2core",
        24.0,
        {"tune": StageRate(1.0, 2e9), "eval": StageRate(0.0, 1e9), "transfer": StageRate(2.0, 3e9)},
        "fitted",
    )
    assert DeviceClass.from_dict(device.as_dict()) == device


def test_estimate_flags_a_job_that_does_not_fit() -> None:
    device = DeviceClass("cpu", 1e-3, {s: StageRate(0.0, 1e9) for s in ("tune", "eval", "transfer")})
    works = [JobWork("t", "tune", trained_tokens=1e3, trained_params=SHAPE.params, micro_batch=2, peak_length=16)]
    estimate = estimate_study(works, SHAPE, device, workers=1)
    assert not estimate.jobs[0].fits
    assert estimate.stage_totals()["tune"]["fits"] == 0.0
    assert math.isclose(estimate.wall_seconds, estimate.jobs[0].seconds)


def test_fit_separates_per_token_time_from_flop_time_across_model_sizes() -> None:
    """Two model sizes (FLOPs per token 1e6 and 1e8): the fit recovers 1 ms per token and 1e10 FLOP/s."""
    samples = []
    for stage in ("tune", "eval", "transfer"):
        for tokens in (1e3, 5e3, 2e4):
            for flops_per_token in (1e6, 1e8):
                job_flops = tokens * flops_per_token
                samples.append(Measured(stage, job_flops, tokens * 1e-3 + job_flops / 1e10, tokens))
    device = fit_device("cpu", 24.0, samples, "two sizes")
    for rate in device.rates.values():
        assert rate.seconds_per_token == pytest.approx(1e-3, rel=1e-6)
        assert rate.flops_per_second == pytest.approx(1e10, rel=1e-6)
        assert rate.overhead_seconds == pytest.approx(0.0, abs=1e-6)


def test_a_device_without_a_flop_term_round_trips_as_strict_json() -> None:
    import json

    device = DeviceClass("cpu", 24.0, {s: StageRate(0.0, math.inf, 1e-4) for s in ("tune", "eval", "transfer")})
    text = json.dumps(device.as_dict(), allow_nan=False)
    assert DeviceClass.from_dict(json.loads(text)) == device


def test_one_model_size_puts_every_second_on_flops_and_warns_far_from_it() -> None:
    """Tokens and FLOPs in one ratio cannot be separated: the fit uses FLOPs (conservative for larger models)."""
    samples = [
        Measured(stage, tokens * 1e6, tokens * 1e-3, tokens, 1_000_000)
        for stage in ("tune", "eval", "transfer")
        for tokens in (1e3, 2e3, 4e3)
    ]
    device = fit_device("cpu", 24.0, samples, "one size")
    assert device.fitted_params == (1_000_000, 1_000_000)
    assert all(r.seconds_per_token == 0.0 and r.flops_per_second == pytest.approx(1e9) for r in device.rates.values())
    assert device.extrapolation(SHAPE) is None  # 1.1M parameters: within the fitted range
    big = ModelShape(params=135_000_000, embedding_params=28_000_000, vocab=49152, hidden=576, layers=30, heads=9)
    warning = device.extrapolation(big)
    assert warning is not None and "extrapolates" in warning and "135.0M" in warning
    assert estimate_study([JobWork("t", "tune", trained_tokens=1e3)], big, device, 1).extrapolation == warning
