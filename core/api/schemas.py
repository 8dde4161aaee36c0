"""Marshmallow schemas of the connector API's responses and query arguments."""
from marshmallow import Schema, fields


class FieldSchema(Schema):
    name = fields.String()
    label = fields.String()
    type = fields.String()
    secret = fields.Boolean()
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)
    choices = fields.List(fields.String())
    help = fields.String()
    options = fields.String(allow_none=True, metadata={
        "description": "A route under this connector listing the choices: [{id, summary, primary}]"})


class ActionSummarySchema(Schema):
    name = fields.String()
    description = fields.String()


class ConnectorSchema(Schema):
    key = fields.String()
    name = fields.String()
    kind = fields.String(metadata={"description": "oauth2 or config"})
    provider = fields.String()
    description = fields.String()
    icon = fields.String()
    configured = fields.Boolean(metadata={"description": "False when the operator has not set the client id"})
    missing_variables = fields.List(fields.String())
    scopes = fields.List(fields.String())
    fields_ = fields.List(fields.Nested(FieldSchema), data_key="fields", attribute="fields")
    settings_fields = fields.List(fields.Nested(FieldSchema))
    actions = fields.List(fields.Nested(ActionSummarySchema))
    status = fields.String(metadata={"description": "active, inactive, error, needs_reauth or not_configured"})
    connected = fields.Boolean()
    account = fields.String(allow_none=True)
    expires_at = fields.String(allow_none=True)
    granted_scopes = fields.List(fields.String())
    settings = fields.Dict()
    config = fields.Dict(metadata={"description": "Stored config values, secrets masked"})
    last_error = fields.String(allow_none=True)
    last_sync = fields.String(allow_none=True, metadata={"description": "When the last change reached the provider"})
    pending_changes = fields.Integer(metadata={"description": "Changes not yet synced"})
    availability = fields.String(metadata={"description": "enabled, or reconnect_required when the connection "
                                                          "cannot read busy times yet"})
    availability_message = fields.String(metadata={"description": "What to do to enable availability"})
    updated_at = fields.String(allow_none=True)


class RedirectArgsSchema(Schema):
    return_to = fields.String(metadata={"description": "A path or URL on FRONTEND_URL to return to"})


class AuthorizationUrlSchema(Schema):
    authorization_url = fields.String()


class RevokeResultSchema(Schema):
    revoked_at_provider = fields.Boolean()
    connector = fields.Nested(ConnectorSchema)


def object_body(description: str, required: bool = True) -> dict:
    """The OpenAPI ``requestBody`` of a route that reads a free-form JSON object (fields declared by a plugin)."""
    return {"required": required, "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}}}
