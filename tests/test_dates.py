from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from refeed.dates import DateParseError, parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE = time(9, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Thu, 04 Nov 2021 02:08:44 GMT", "2021-11-04T02:08:44+00:00"),
        ("Thu, 04 Nov 2021 02:08:44 +0800", "2021-11-04T02:08:44+08:00"),
        ("Thu, 04 Nov 2021 02:08:44 EST", "2021-11-04T02:08:44-05:00"),
        ("Thu, 04 Nov 2021 02:08:44 -0000", "2021-11-04T02:08:44+00:00"),
        ("04 Nov 2021 02:08 PDT", "2021-11-04T02:08:00-07:00"),
        ("2021-11-04T10:00:00Z", "2021-11-04T10:00:00+00:00"),
        ("2021-11-04T10:00:00+02:00", "2021-11-04T10:00:00+02:00"),
        ("2021-11-04T10:00:00.250-03:30", "2021-11-04T10:00:00.250000-03:30"),
        ("2021-11-04 10:00:00 +0800", "2021-11-04T10:00:00+08:00"),
        ("2021-11-04 10:00", "2021-11-04T10:00:00+08:00"),
        ("2021-11-04", "2021-11-04T09:00:00+08:00"),
        ("20211104", "2021-11-04T09:00:00+08:00"),
        ("2021/11/04 10:30", "2021-11-04T10:30:00+08:00"),
        ("Nov 4, 2021", "2021-11-04T09:00:00+08:00"),
        ("1636000000", "2021-11-04T04:26:40+00:00"),
        ("1636000000000", "2021-11-04T04:26:40+00:00"),
        (1636000000, "2021-11-04T04:26:40+00:00"),
        (1636000000.5, "2021-11-04T04:26:40.500000+00:00"),
        (date(2021, 11, 4), "2021-11-04T09:00:00+08:00"),
        (datetime(2021, 11, 4, 10, 0), "2021-11-04T10:00:00+08:00"),
        (datetime(2021, 11, 4, 10, 0, tzinfo=UTC), "2021-11-04T10:00:00+00:00"),
    ],
)
def test_every_shape_becomes_an_aware_datetime(value: object, expected: str) -> None:
    assert parse_date(value, SHANGHAI, NINE).isoformat() == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "yes",
        "0021-11-04",
        "202-11-04T10:00:00Z",
        "-3000000000",
        datetime(999, 1, 1),
        "1e3",
        "10:30",
        "November",
        "Thu, 04 Nov 2021 02:08:44 HKT",
        "2021-13-45",
        True,
        None,
        [2021],
    ],
)
def test_what_is_not_a_date_is_refused(value: object) -> None:
    with pytest.raises(DateParseError):
        parse_date(value, SHANGHAI, NINE)


def test_refusal_quotes_the_value() -> None:
    with pytest.raises(DateParseError, match="'someday'"):
        parse_date("someday", SHANGHAI, NINE)


def test_naive_dates_take_the_configured_zone_including_dst() -> None:
    new_york = ZoneInfo("America/New_York")
    assert parse_date("2021-07-01 12:00", new_york, NINE).isoformat() == "2021-07-01T12:00:00-04:00"
    assert parse_date("2021-12-01 12:00", new_york, NINE).isoformat() == "2021-12-01T12:00:00-05:00"


def test_zone_abbreviations_can_be_given_their_local_meaning() -> None:
    china = {"CST": "+0800"}
    assert (
        parse_date("Thu, 04 Nov 2021 10:08:44 CST", SHANGHAI, NINE).isoformat()
        == "2021-11-04T10:08:44-06:00"
    )
    assert (
        parse_date("Thu, 04 Nov 2021 10:08:44 CST", SHANGHAI, NINE, china).isoformat()
        == "2021-11-04T10:08:44+08:00"
    )
    assert (
        parse_date("2021-11-04 10:08 cst", SHANGHAI, NINE, china).isoformat()
        == "2021-11-04T10:08:00+08:00"
    )
