"""Tests of the provider simulator (services/simulator)."""
