"""Simulations: the radio air, the 2023 flood replay, backhaul cuts, and the one-machine demo."""
