"""OAuth 2.0 for connectors: provider settings, the authorization-code flow with PKCE, and state."""
