"""Tests of the central (IOC) tier."""
