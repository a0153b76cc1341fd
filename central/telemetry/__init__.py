"""River stations and the readings of their sensors."""
