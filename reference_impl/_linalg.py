"""Linear algebra: matmul and its relatives, trace and norms."""

__all__ = []
