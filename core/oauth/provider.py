"""Resolve a connector's OAuth server from its declaration and the environment."""
from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qsl

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.auth import ClientAuth

from core.spec import ConnectorSpec


@dataclass(frozen=True)
class OAuthProvider:
    """Client credentials and endpoints of one connector, after environment overrides."""

    connector: str
    client_id: str | None
    client_secret: str | None
    redirect_uri: str
    authorize_url: str
    token_url: str
    revoke_url: str | None
    api_root: str | None
    spec: object

    def session(self, token: dict | None = None, scopes: tuple[str, ...] | None = None, **kwargs) -> OAuth2Session:
        """An authlib session for this provider, shaped by its spec (asking ``scopes``, default the spec's).

        PKCE S256 when ``pkce``; the same client authentication at the token and the
        revocation endpoints; JSON request bodies when ``token_request_format`` is ``json``;
        ``token_response`` applied to every token endpoint answer (exchange and refresh).
        """
        method = self.spec.token_endpoint_auth_method
        client = OAuth2Session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.spec.scope_separator.join(scopes or self.spec.scopes) if self.spec.request_scopes else None,
            redirect_uri=self.redirect_uri,
            token_endpoint_auth_method=method,
            revocation_endpoint_auth_method=method,
            code_challenge_method="S256" if self.spec.pkce else None,
            token=token,
            **kwargs,
        )
        if self.spec.token_request_format == "json":
            json_method = f"{method}+json"
            client.register_client_auth_method((json_method, _with_json_body(ClientAuth.DEFAULT_AUTH_METHODS[method])))
            client.token_endpoint_auth_method = client.revocation_endpoint_auth_method = json_method
        if self.spec.token_response is not None:
            hook = _normalised_by(self.spec.token_response)
            client.register_compliance_hook("access_token_response", hook)
            client.register_compliance_hook("refresh_token_response", hook)
        return client


def _with_json_body(encode):
    """Wrap an authlib client-auth encoder so the form body it leaves is sent as JSON."""

    def encode_as_json(client, method, uri, headers, body):
        uri, headers, body = encode(client, method, uri, headers, body)
        body = json.dumps(dict(parse_qsl(body or "", keep_blank_values=True)))
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(body.encode()))
        return uri, headers, body

    return encode_as_json


def _normalised_by(normalise):
    """An authlib response hook that passes a JSON object body through ``normalise``."""

    def hook(response):
        try:
            data = response.json()
        except ValueError:
            return response
        if isinstance(data, dict):
            response._content = json.dumps(normalise(data)).encode()
        return response

    return hook


def resolve(spec: ConnectorSpec, config) -> OAuthProvider:
    """Combine ``spec.oauth`` with ``<PREFIX>_*`` variables into an :class:`OAuthProvider`."""
    oauth = spec.oauth
    prefix = oauth.env_prefix
    default_redirect = f"{config.backend_url}/api/v1/connectors/{spec.key}/callback"
    api_root = config.provider(prefix, "API_ROOT", oauth.api_root)
    return OAuthProvider(
        connector=spec.key,
        client_id=config.provider(prefix, "CLIENT_ID"),
        client_secret=config.provider(prefix, "CLIENT_SECRET"),
        redirect_uri=config.provider(prefix, "REDIRECT_URI", default_redirect),
        authorize_url=config.provider(prefix, "AUTH_URI", oauth.authorize_url),
        token_url=config.provider(prefix, "TOKEN_URI", oauth.token_url),
        revoke_url=config.provider(prefix, "REVOKE_URI", oauth.revoke_url),
        api_root=api_root.rstrip("/") + "/" if api_root else None,
        spec=oauth,
    )
