"""Fake provider servers (real HTTP on loopback) for the test suite."""
