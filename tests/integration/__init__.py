"""Tests that run real processes on loopback ports (models served over HTTP)."""
