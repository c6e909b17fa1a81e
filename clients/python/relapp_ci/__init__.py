"""Relapp pipeline client: standard library only."""

from relapp_ci.client import Client, RelappError

__all__ = ["Client", "RelappError"]
__version__ = "0.1.0"
