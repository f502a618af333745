"""Ironworks' own API under `/api/v1` (see README.md)."""
