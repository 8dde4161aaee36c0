"""Bounded inputs: ids, dates and pages that every database and ``datetime`` can hold.

Without bounds, ``/appointments/2147483648`` overflows PostgreSQL's ``integer``,
``9999-12-31T20:00-10:00`` overflows when converted to UTC (a year from 1900 to 2999 never
does), and ``page=10**30`` makes an offset no database accepts; each was a 500. With them, each
is a 404 or a 422 naming the field.
"""
from __future__ import annotations

from marshmallow import ValidationError, fields

from core.i18n import _

#: The largest id a row can have (PostgreSQL ``integer``); a route's id converter is bounded by it.
MAX_ID = 2**31 - 1
#: The years a date-time argument may name (in its own offset): any of them converts to UTC safely.
FIRST_YEAR, LAST_YEAR = 1900, 2999
YEAR_PATTERN = r"^(19|2[0-9])[0-9][0-9]-"
#: The highest page number a paginated list accepts.
MAX_PAGE = 100_000


class BoundedDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time with a UTC offset in the years 1900 to 2999 (documented by a ``pattern``)."""

    def __init__(self, **kwargs):
        metadata = {"description": f"ISO 8601 with a UTC offset, in the years {FIRST_YEAR} to {LAST_YEAR}",
                    "pattern": YEAR_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise ValidationError(_("Give a date-time in the years %(first)s to %(last)s.",
                                    first=FIRST_YEAR, last=LAST_YEAR))
        return moment
