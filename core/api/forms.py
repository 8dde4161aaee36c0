"""Marshmallow schemas built at run time from a connector's declared fields."""
from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

_TYPES = {
    "string": lambda f: fields.String(validate=validate.Length(max=2048)),
    "url": lambda f: fields.Url(require_tld=False),
    "email": lambda f: fields.Email(),
    "integer": lambda f: fields.Integer(strict=False, validate=validate.Range(min=0, max=2**31)),
    "boolean": lambda f: fields.Boolean(),
    "choice": lambda f: fields.String(validate=validate.OneOf(f.choices)),
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
