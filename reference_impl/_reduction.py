"""Reductions over dims (sum, mean, max …), scans (cumsum, cumprod) and sorting."""

__all__ = []
