"""Plugins used by the tests, written exactly as a third party would write them."""
