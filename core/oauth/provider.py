"""Resolve a connector's OAuth server from its declaration and the environment."""
from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.requests_client import OAuth2Session

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

    @property
    def missing_variables(self) -> list[str]:
        prefix = self.spec.env_prefix
        return [f"{prefix}_{name}" for name, value in
                (("CLIENT_ID", self.client_id), ("CLIENT_SECRET", self.client_secret)) if not value]

    def session(self, token: dict | None = None, **kwargs) -> OAuth2Session:
        """An authlib session for this provider (PKCE S256 when the spec asks for it)."""
        return OAuth2Session(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=self.spec.scope_separator.join(self.spec.scopes),
            redirect_uri=self.redirect_uri,
            token_endpoint_auth_method=self.spec.token_endpoint_auth_method,
            code_challenge_method="S256" if self.spec.pkce else None,
            token=token,
            **kwargs,
        )


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
