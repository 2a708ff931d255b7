"""Operators' commands: watching the factory and steering jobs."""

from __future__ import annotations
