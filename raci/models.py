"""RACI matrix models (see raci/permissions.py for how letters become permissions)."""
