"""Fixtures for the filings tests (shared with the other progress tests)."""

from tests.targets_fixtures import *  # noqa: F403
