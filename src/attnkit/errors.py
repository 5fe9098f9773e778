"""Errors a user can act on. The CLI prints their message without a traceback."""


class AttnkitError(Exception):
    """Base class: the message says what went wrong, where, and what to do."""


class DataError(AttnkitError):
    """Malformed or inconsistent input data (names the file and line)."""


class ConfigError(AttnkitError):
    """Invalid configuration (names the key and suggests a fix)."""


class CheckpointError(AttnkitError):
    """A model directory or checkpoint that is missing, corrupt or foreign."""
