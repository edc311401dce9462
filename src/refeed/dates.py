"""Every date shape real posts carry → an aware datetime (pure).

Order matters: ISO 8601 and RFC 822 are exact grammars and go first; dateutil's lenient parser
is the last resort, and is run twice with different defaults so that a value missing its day,
month or year is refused instead of silently taking today's.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timezone, tzinfo
from email.utils import parsedate_to_datetime

# North American zone names, as RFC 822 defines them; dateutil knows none of these by itself.
_ZONE_NAMES: dict[str, int] = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
}  # fmt: skip
# RSS dates need four-digit years, and nothing on the web was published before this.
MIN_YEAR = 1900
_EPOCH_DIGITS = re.compile(r"^-?\d{9,13}(\.\d+)?$")
_RFC822_HINT = re.compile(r"^\s*(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\b")
_DEFAULT_A = datetime(2000, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2001, 2, 2, 1, 0, 0)  # differs from A in the hour only


class DateParseError(ValueError):
    """The value is not a date refeed understands."""


def parse_date(
    value: object, tz: tzinfo, default_time: time, zones: Mapping[str, str] | None = None
) -> datetime:
    """Return ``value`` as an aware datetime; naive values are taken to be in ``tz``.

    Accepts datetimes, dates, epoch seconds (int, float or digit string), ISO 8601, RFC 822/1123,
    and the looser shapes dateutil reads. A date without a time gets ``default_time``.
    ``zones`` maps zone abbreviations to offsets ("+0800"), overriding RFC 822's US meanings:
    a Chinese site's "CST" is China Standard Time, not US Central.
    """
    if isinstance(value, bool):
        raise DateParseError(f"expected a date, got {value!r}")
    if isinstance(value, datetime):
        return _localize(value, tz)
    if isinstance(value, date):
        return _localize(datetime.combine(value, default_time), tz)
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise DateParseError(f"expected a date, got {value!r}")
    text = value.strip()
    if not text:
        raise DateParseError("expected a date, got an empty value")
    head, _, zone = text.rpartition(" ")
    if zones and head and zone.upper() in zones:
        text = f"{head} {zones[zone.upper()]}"
    if _EPOCH_DIGITS.match(text):
        return _from_epoch(float(text))
    parsed = _parse_iso(text, tz, default_time)
    if parsed is None and _RFC822_HINT.match(text):
        parsed = _parse_rfc822(text, tz)
    if parsed is None:
        parsed = _parse_loose(text, tz, default_time)
    if parsed is None:
        raise DateParseError(f"not a date refeed can read, got {value!r}")
    return parsed


def _localize(value: datetime, tz: tzinfo) -> datetime:
    if value.year < MIN_YEAR:
        raise DateParseError(
            f"year {value.year} is before {MIN_YEAR}, surely a typo, got {value.isoformat()!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=tz)
    # A fixed offset keeps the output independent of the tz database's future edits.
    offset = value.utcoffset()
    assert offset is not None
    return value.replace(tzinfo=timezone(offset) if offset else UTC)


def _from_epoch(seconds: float) -> datetime:
    if abs(seconds) >= 1e11:  # milliseconds, as JavaScript exports them
        seconds /= 1000
    try:
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise DateParseError(f"epoch seconds out of range, got {seconds!r}") from exc
    return _localize(moment, UTC)


def _parse_iso(text: str, tz: tzinfo, default_time: time) -> datetime | None:
    candidate = text[:-1] + "+00:00" if text[-1:] in "zZ" else text
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    date_only = len(candidate) <= 10 and ":" not in candidate and "T" not in candidate
    if date_only:
        parsed = datetime.combine(parsed.date(), default_time)
    return _localize(parsed, tz)


def _parse_rfc822(text: str, tz: tzinfo) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    zone = text.rsplit(None, 1)[-1].upper()
    if parsed.tzinfo is None:
        if zone in ("-0000", "+0000"):
            parsed = parsed.replace(tzinfo=UTC)  # "-0000": UTC, source zone unknown
        elif zone.isalpha():
            return None  # a zone name the stdlib does not know: let the strict path refuse it
    return _localize(parsed, tz)


def _parse_loose(text: str, tz: tzinfo, default_time: time) -> datetime | None:
    from dateutil import parser as dateutil_parser  # the last resort: loaded only when needed

    try:
        with warnings.catch_warnings():
            # An unknown zone name would be dropped with a warning; refuse the date instead.
            warnings.simplefilter("error", dateutil_parser.UnknownTimezoneWarning)
            first = dateutil_parser.parse(text, default=_DEFAULT_A, tzinfos=_ZONE_NAMES)
            second = dateutil_parser.parse(text, default=_DEFAULT_B, tzinfos=_ZONE_NAMES)
    except (ValueError, OverflowError, TypeError, dateutil_parser.UnknownTimezoneWarning):
        return None
    if first.date() != second.date():
        return None  # year, month or day is missing: refuse rather than guess
    if first.time() != second.time():
        first = datetime.combine(first.date(), default_time, tzinfo=first.tzinfo)
    return _localize(first, tz)
