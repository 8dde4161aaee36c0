"""core's readers of the times an agent gives an action (both calendar connectors' list_events and create_event)."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import InvalidInput, parse_datetime, parse_event_end, parse_time_range, parse_time_zone

PARIS = ZoneInfo("Europe/Paris")


def refused(call, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    assert caught.value.code == "invalid_input" and caught.value.http_status == 422
    return caught.value


def test_a_time_zone_is_an_iana_name():
    assert parse_time_zone("Europe/Paris") == PARIS
    for name in ("Mars/Olympus", "", "../etc"):
        error = refused(parse_time_zone, name)
        assert error.details == {"field": "timezone"} and "is not a time zone" in error.message


def test_a_date_time_without_offset_is_read_in_the_zone():
    assert parse_datetime("start", " 2030-05-14T09:30 ", PARIS) == datetime(2030, 5, 14, 9, 30, tzinfo=PARIS)
    assert parse_datetime("start", "2030-05-14T07:30Z", PARIS) == datetime(2030, 5, 14, 7, 30, tzinfo=UTC)
    assert parse_datetime("end", "2030-05-14T09:30+02:00", UTC).utcoffset() == timedelta(hours=2)
    assert refused(parse_datetime, "end", "next tuesday", PARIS).details == {"field": "end"}


def test_a_range_defaults_to_the_next_days_and_must_move_forward():
    begin, finish = parse_time_range("2030-05-14T09:00", None, PARIS, days=3)
    assert (begin, finish - begin) == (datetime(2030, 5, 14, 9, tzinfo=PARIS), timedelta(days=3))
    before = datetime.now(PARIS)
    begin, finish = parse_time_range(None, None, PARIS)
    assert before <= begin <= datetime.now(PARIS) and finish - begin == timedelta(days=7)
    assert parse_time_range(None, "2999-01-01T00:00", PARIS)[1] == datetime(2999, 1, 1, tzinfo=PARIS)
    assert refused(parse_time_range, "2030-05-14T09:00", "2030-05-14T09:00", PARIS).details == {"field": "end"}


def test_an_event_ends_at_its_end_or_after_its_duration():
    begin = datetime(2030, 5, 14, 9, 30, tzinfo=PARIS)
    assert parse_event_end(begin, "2030-05-14T10:00", 90, PARIS) == datetime(2030, 5, 14, 10, tzinfo=PARIS)
    assert parse_event_end(begin, None, 90, PARIS) == begin + timedelta(minutes=90)
    assert parse_event_end(begin, None, None, PARIS) == begin + timedelta(minutes=30)
    assert parse_event_end(begin, None, None, PARIS, default_minutes=45) == begin + timedelta(minutes=45)
    for minutes in (0, -5, 24 * 60 + 1):
        assert refused(parse_event_end, begin, None, minutes, PARIS).details == {"field": "duration_minutes"}
    assert refused(parse_event_end, begin, "2030-05-14T09:00", None, PARIS).details == {"field": "end"}
