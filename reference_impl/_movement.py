"""Movement: views that re-describe the same storage, and the ops that copy elements into a
new arrangement (cat, stack, gather …)."""

__all__ = []
