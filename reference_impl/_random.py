"""Random numbers that reproduce torch's CPU generator streams."""

__all__ = []
