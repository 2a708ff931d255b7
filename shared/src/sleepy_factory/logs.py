"""Logging set-up for every role: human text to stderr, level from SF_LOG_LEVEL."""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def configure_logging(default_level: str = "INFO") -> None:
    level = os.environ.get("SF_LOG_LEVEL", default_level).upper()
    logging.basicConfig(
        level=level if level in logging.getLevelNamesMapping() else default_level,
        format=FORMAT,
    )
    # psycopg_pool reports every reconnection attempt; our outage tracker already says it once.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
