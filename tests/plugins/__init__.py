"""Tests of the connector plugins shipped with the platform."""
