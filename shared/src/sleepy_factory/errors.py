"""One exception hierarchy, so the CLI can turn any expected failure into one stderr line."""


class SleepyFactoryError(Exception):
    """Base of every error a user can cause or fix; its message is shown to them verbatim."""

    exit_code = 1


class ConfigError(SleepyFactoryError):
    """A setting is missing or malformed."""

    exit_code = 2


class DatabaseUnavailableError(SleepyFactoryError):
    """The database cannot be reached."""

    exit_code = 3


class SchemaError(SleepyFactoryError):
    """The database schema is missing or does not match this code."""

    exit_code = 4


class JobNotFoundError(SleepyFactoryError):
    """No job has the requested id."""

    exit_code = 5


class InvalidInputError(SleepyFactoryError):
    """A value given on the command line is not acceptable."""

    exit_code = 2


class ShutdownRequested(SleepyFactoryError):
    """A stop signal arrived before the role got going; not a failure."""

    exit_code = 0
