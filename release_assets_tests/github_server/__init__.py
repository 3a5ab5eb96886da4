"""A local GitHub-compatible HTTP server for tests and benchmarks: generated worlds, faults,
rate limits, GraphQL and attestations."""

from release_assets_tests.github_server.server import Fault, GitHubServer, World, iso

__all__ = ["Fault", "GitHubServer", "World", "iso"]
