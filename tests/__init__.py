"""Test suite of the connector platform."""
