"""Helpers shared by every step of the tutorial, and the bundled dev tenant."""
