"""Ironworks: a bare-metal cloud."""

__version__ = "0.1.0"
