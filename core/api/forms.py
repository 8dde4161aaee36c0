"""Marshmallow schemas built at run time from a connector's declared fields."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from core.i18n import _

#: A ``list`` setting holds at most this many values.
MAX_LIST = 50


class StringList(fields.Field):
    """A list of distinct non-empty strings, given as a JSON array or one comma-separated string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError(_("Expected a list of strings."))
        items = list(dict.fromkeys(item.strip() for item in value if item.strip()))
        if len(items) > MAX_LIST or any(len(item) > 1024 for item in items):
            raise ValidationError(_("At most %(n)d values of at most 1024 characters.", n=MAX_LIST))
        return items


_TYPES = {
    "string": lambda f: fields.String(validate=validate.Length(max=2048)),
    "url": lambda f: fields.Url(require_tld=False),
    "email": lambda f: fields.Email(),
    "integer": lambda f: fields.Integer(strict=False, validate=validate.Range(min=0, max=2**31)),
    "boolean": lambda f: fields.Boolean(),
    "choice": lambda f: fields.String(validate=validate.OneOf(f.choices)),
    "list": lambda f: StringList(),
}


def schema_for(declared, *, partial: bool = False) -> Schema:
    """A schema validating ``declared`` ConfigFields; unknown keys are refused."""
    built = {}
    for f in declared:
        field = _TYPES[f.type](f)
        field.required = f.required and f.default is None and not partial
        if not field.required and f.default is not None and not partial:
            field.load_default = f.default
        field.allow_none = not f.required
        built[f.name] = field
    return Schema.from_dict(built, name="DeclaredFields")(unknown=RAISE)
