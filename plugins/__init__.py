"""Connector plugins shipped with the platform."""
