"""Simulations: radio air, flood hydrographs, and the one-machine demo."""
