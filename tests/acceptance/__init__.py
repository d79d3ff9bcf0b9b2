"""Acceptance tests: real media (and synthetic patients made from real faces) with known truth."""
