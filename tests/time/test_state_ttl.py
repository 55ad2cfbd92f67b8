"""StateTtl: argument checks, the expiry stamp, expiry with a controllable clock, the schema."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fssdk.runtime import LocalContext, MemoryBackend
from fssdk_advanced.time import StateTtl, TimerService, processing_time_ms

MIN, MAX = -(2**63), 2**63 - 1
TIMES = st.integers(MIN, MAX)
TTLS = st.integers(1, MAX)


class Clock:
    """A clock that tests move by hand."""

    def __init__(self, now: int = 0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


# -- arguments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"ttl": 1.5}, TypeError, "ttl must be an int, not float"),
        ({"ttl": True}, TypeError, "ttl must be an int, not bool"),
        ({"ttl": "10"}, TypeError, "ttl must be an int"),
        ({"ttl": 0}, ValueError, "ttl must be positive"),
        ({"ttl": -5}, ValueError, "ttl must be positive"),
        ({"ttl": 2**63}, ValueError, "ttl must be positive"),
        ({"ttl": 1, "update_type": "on_read"}, ValueError, "update_type must be one of"),
        ({"ttl": 1, "update_type": None}, TypeError, "update_type must be a str"),
        ({"ttl": 1, "visibility": "always"}, ValueError, "visibility must be one of"),
        ({"ttl": 1, "visibility": 1}, TypeError, "visibility must be a str"),
        ({"ttl": 1, "clock": 5}, TypeError, "clock must be a zero-argument callable"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        StateTtl(**kwargs)  # type: ignore[arg-type]


def test_an_invalid_choice_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'on_create_and_write', 'on_read_and_write'"):
        StateTtl(1, update_type="never")
    with pytest.raises(
        ValueError, match="'never_return_expired', 'return_expired_if_not_cleaned_up'"
    ):
        StateTtl(1, visibility="never")


def test_ttl_and_options_are_keyword_only_after_ttl() -> None:
    with pytest.raises(TypeError):
        StateTtl(1, "on_read_and_write")  # type: ignore[call-arg]


def test_defaults() -> None:
    ttl = StateTtl(1000)
    assert (ttl.ttl, ttl.update_type, ttl.visibility) == (
        1000,
        "on_create_and_write",
        "never_return_expired",
    )
    assert not ttl.update_on_read
    assert not ttl.returns_expired
    assert ttl.clock is processing_time_ms
    assert ttl.time_domain == "processing-time"


def test_options_are_read_back() -> None:
    ttl = StateTtl(
        5, update_type="on_read_and_write", visibility="return_expired_if_not_cleaned_up"
    )
    assert ttl.update_on_read
    assert ttl.returns_expired


def test_the_default_clock_is_the_wall_clock_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    now = StateTtl(1).now()
    after = time.time_ns() // 1_000_000
    assert before <= now <= after


@pytest.mark.parametrize("returned", [1.5, "1", None, 2**63, True])
def test_a_clock_that_returns_no_64_bit_int_raises_naming_the_clock(returned: object) -> None:
    ttl = StateTtl(1, clock=lambda: returned)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match=r"clock .* must return a signed 64-bit int"):
        ttl.now()


# -- stamps and expiry ---------------------------------------------------------------------------


@given(ttl=TTLS, now=TIMES, value=st.binary(max_size=64))
def test_a_stamp_round_trips(ttl: int, now: int, value: bytes) -> None:
    config = StateTtl(ttl, clock=Clock(now))
    stamped = config.stamp(value, now)
    assert len(stamped) == 8 + len(value)
    assert config.unstamp(stamped) == (min(now + ttl, MAX), value)


@given(ttl=TTLS, written=TIMES, later=TIMES)
def test_a_value_expires_exactly_ttl_after_it_was_stamped(
    ttl: int, written: int, later: int
) -> None:
    config = StateTtl(ttl)
    expires_at, _ = config.unstamp(config.stamp(b"v", written))
    assert config.is_expired(expires_at, later) == (later >= min(written + ttl, MAX))


@given(ttl=TTLS, a=TIMES, b=TIMES)
def test_stamps_sort_as_their_expiry(ttl: int, a: int, b: int) -> None:
    config = StateTtl(ttl)
    sa, sb = config.stamp(b"", a), config.stamp(b"", b)
    assert (sa < sb) == (config.expires_at(a) < config.expires_at(b))


def test_expiry_with_a_controllable_clock() -> None:
    clock = Clock(100)
    ttl = StateTtl(10, clock=clock)
    expires_at, value = ttl.unstamp(ttl.stamp(b"payload", ttl.now()))
    assert (expires_at, value) == (110, b"payload")
    for now, expired in ((100, False), (109, False), (110, True), (111, True)):
        clock.now = now
        assert ttl.is_expired(expires_at, ttl.now()) is expired


def test_expiry_saturates_at_the_largest_time() -> None:
    ttl = StateTtl(MAX)
    assert ttl.expires_at(MAX) == MAX
    assert ttl.expires_at(1) == MAX
    assert ttl.expires_at(MIN) == -1
    assert ttl.unstamp(ttl.stamp(b"", 5))[0] == MAX
    assert ttl.is_expired(MAX, MAX)


def test_an_empty_value_is_stamped_and_read_back() -> None:
    ttl = StateTtl(3)
    assert ttl.unstamp(ttl.stamp(b"", 0)) == (3, b"")


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x80\x00\x00\x00\x00\x00\x00"])
def test_data_too_short_for_a_stamp_raises_value_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="8-byte expiry stamp; got"):
        StateTtl.unstamp(data)


def test_event_time_ttl_expires_as_the_watermark_passes() -> None:
    timers = TimerService.from_context(LocalContext(MemoryBackend()), "timers")
    ttl = StateTtl(30, clock=timers.event_time_clock())
    timers.advance_watermark(1_000)
    expires_at, _ = ttl.unstamp(ttl.stamp(b"session", ttl.now()))
    assert expires_at == 1_030
    timers.advance_watermark(1_029)
    assert not ttl.is_expired(expires_at, ttl.now())
    timers.advance_watermark(1_030)
    assert ttl.is_expired(expires_at, ttl.now())


# -- schema and identity -------------------------------------------------------------------------


def test_schema_is_json_and_names_every_setting() -> None:
    ttl = StateTtl(
        60_000, update_type="on_read_and_write", visibility="return_expired_if_not_cleaned_up"
    )
    schema = ttl.ttl_schema()
    assert (
        json.loads(json.dumps(schema))
        == schema
        == {
            "format": 1,
            "ttl": 60_000,
            "update_type": "on_read_and_write",
            "visibility": "return_expired_if_not_cleaned_up",
            "time_domain": "processing-time",
        }
    )


@pytest.mark.parametrize(
    ("make_clock", "domain"),
    [
        (lambda: None, "processing-time"),
        (Clock, "custom"),
        (
            lambda: TimerService.from_context(
                LocalContext(MemoryBackend()), "t"
            ).event_time_clock(),
            "event-time",
        ),
    ],
)
def test_schema_names_the_time_domain(
    make_clock: Callable[[], Callable[[], int] | None], domain: str
) -> None:
    assert StateTtl(1, clock=make_clock()).ttl_schema()["time_domain"] == domain


def test_every_setting_changes_the_schema() -> None:
    base = StateTtl(10)
    others = [
        StateTtl(11),
        StateTtl(10, update_type="on_read_and_write"),
        StateTtl(10, visibility="return_expired_if_not_cleaned_up"),
        StateTtl(10, clock=Clock()),
    ]
    assert all(other.ttl_schema() != base.ttl_schema() for other in others)


def test_equality_and_hash_follow_the_settings_and_clock() -> None:
    clock = Clock()
    assert StateTtl(5, clock=clock) == StateTtl(5, clock=clock)
    assert hash(StateTtl(5, clock=clock)) == hash(StateTtl(5, clock=clock))
    assert StateTtl(5) == StateTtl(5)
    assert StateTtl(5, clock=clock) != StateTtl(5, clock=Clock())
    assert StateTtl(5) != StateTtl(6)
    assert StateTtl(5) != "StateTtl(5)"


def test_repr_shows_the_settings() -> None:
    assert repr(StateTtl(5)) == (
        "StateTtl(5, update_type='on_create_and_write', visibility='never_return_expired', "
        "time_domain='processing-time')"
    )
