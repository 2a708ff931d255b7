"""Sleepy Factory core: the lease-and-claim library every role builds on."""

from sleepy_factory.errors import SleepyFactoryError

__all__ = ["SleepyFactoryError"]
__version__ = "0.1.0"
