"""The failed-login limiter (pure, clock injected): per address, per user name, sliding window, bounded."""

import pytest

from central.api.login_limiter import LoginLimiter, LoginLimits, login_keys


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: FakeClock, **limits: int | float) -> LoginLimiter:
    return LoginLimiter(LoginLimits(**{"per_address": 3, "per_user": 5, "window_s": 60.0, **limits}), clock)


@pytest.mark.unit
def test_an_address_is_blocked_after_its_limit_until_the_window_passes(clock: FakeClock) -> None:
    limits = limiter(clock)
    keys = login_keys("10.0.0.1", "ioc")
    for _ in range(2):
        limits.failed(keys)
        clock.now += 1
    assert limits.retry_after(keys) is None
    limits.failed(keys)  # the third failure, at t = 1002: blocked until the first (t = 1000) is 60 s old
    assert limits.retry_after(keys) == pytest.approx(58.0)
    clock.now += 30
    assert limits.retry_after(keys) == pytest.approx(28.0)
    clock.now = 1060.0  # the first failure (t = 1000) ages out: two left, under the limit
    assert limits.retry_after(keys) is None


@pytest.mark.unit
def test_failures_while_blocked_cannot_stretch_the_block_past_one_window(clock: FakeClock) -> None:
    limits = limiter(clock)
    keys = login_keys("10.0.0.1", "ioc")
    for _ in range(50):
        limits.failed(keys)
    clock.now += 60.0
    assert limits.retry_after(keys) is None


@pytest.mark.unit
def test_other_addresses_are_not_blocked_but_a_user_name_sprayed_from_many_is(clock: FakeClock) -> None:
    limits = limiter(clock)
    for i in range(3):
        limits.failed(login_keys("10.0.0.1", f"user{i}"))
    assert limits.retry_after(login_keys("10.0.0.1", "someone")) is not None
    assert limits.retry_after(login_keys("10.0.0.2", "someone")) is None
    for i in range(5):
        limits.failed(login_keys(f"10.1.0.{i}", "ioc"))  # one failure per address: under per_address
    assert limits.retry_after(login_keys("10.9.9.9", "ioc")) == pytest.approx(60.0)
    assert limits.retry_after(login_keys("10.9.9.9", "kimlong")) is None


@pytest.mark.unit
def test_memory_is_bounded_under_a_spray_of_addresses(clock: FakeClock) -> None:
    limits = limiter(clock, max_tracked=100)
    for i in range(1000):
        limits.failed(login_keys(f"10.0.{i // 256}.{i % 256}", f"u{i}"))
        clock.now += 0.001
    assert limits.tracked() == 100
    newest = login_keys("10.0.3.231", "u999")
    limits.failed(newest)
    limits.failed(newest)
    assert limits.retry_after(newest) is not None  # the newest keys are the ones kept
