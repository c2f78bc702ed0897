"""Fixtures for the policy-document tests: the shared target fixtures and keys."""

from tests.targets_fixtures import *  # noqa: F403
