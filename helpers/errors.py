"""The package's errors: one family, one-line messages for users, tracebacks kept for maintainers.

Every error this package raises on purpose derives from :class:`Atl06Error`, so a caller
can catch them all (``except Atl06Error``) and tell them from a bug. Their messages are
one line, written for the user: what is wrong, and what to do. An exception that is *not*
an ``Atl06Error`` is a bug, or something nobody expected: where the package turns it into a
one-line reason (a granule that fails while the others go on), it also keeps its
traceback -- logged (:func:`log_unexpected`) and, for a granule, written beside its outputs.

::

    Atl06Error
    ├── GranuleError          one granule cannot be reduced (the others go on)
    │   ├── LayoutError       its datasets are not ATL06's (also a ValueError)
    │   └── SourceError       a remote granule cannot be opened or read
    │       └── InvalidUrl    a URL that cannot be read safely (also a ValueError)
    ├── ReducedFileError      a reduced output cannot be read (also a ValueError)
    ├── SampleError           the synthetic sample cannot be made (also a ValueError)
    └── DataSourceError       real data cannot be had (also a RuntimeError)
        └── CredentialsError  no usable Earthdata credentials
            └── NoCredentials  none at all (environment and netrc)

Logging: a module that turns an exception into one line logs it first, traceback included,
to its own ``logging.getLogger(__name__)`` (unexpected ones through :func:`log_unexpected`).
Those loggers sit under ``helpers``, which has a :class:`logging.NullHandler`, so nothing is
printed unless an application configures logging (the command lines' ``--debug`` does,
:func:`debug_logging`).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback

from helpers.config import DATA_SOURCE_ENV


class Atl06Error(Exception):
    """The root of the package's errors; the message is one line for the user."""


class GranuleError(Atl06Error):
    """An expected problem with one input file; the message is the one-line reason."""


class LayoutError(GranuleError, ValueError):
    """A granule whose datasets cannot be read as ATL06; the message says what is wrong."""


class SourceError(GranuleError):
    """A remote granule that cannot be opened or read; the message is one line, redacted."""


class InvalidUrl(SourceError, ValueError):
    """A URL that cannot be read safely; the message is one line and shows no secret."""


class ReducedFileError(Atl06Error, ValueError):
    """A reduced output that cannot be read; the message names the file and what to do."""


class SampleError(Atl06Error, ValueError):
    """The synthetic sample cannot be generated; the message says why, in one line."""


class DataSourceError(Atl06Error, RuntimeError):
    """Real data cannot be had; the message says what happened and what to do, in one line.

    Parameters
    ----------
    what : str
        What happened, as a sentence.
    fix : str
        What to do about it, as a lower-case imperative clause (no final full stop).

    Examples
    --------
    >>> err = DataSourceError("Cannot reach NASA's CMR (no network?).", "connect and run again")
    >>> str(err).startswith("Cannot reach NASA's CMR (no network?). To fix: connect")
    True
    """

    def __init__(self, what: str, fix: str):
        self.what = what
        self.fix = fix
        super().__init__(
            f"{what} To fix: {fix}. Or use the embedded sample: set DATA_SOURCE = 'sample' "
            f"(or {DATA_SOURCE_ENV}=sample)."
        )

    def fallback_message(self) -> str:
        """The one line a notebook prints when it carries on with the embedded sample."""
        return (
            f"Real data not used: {self.what} Continuing with the embedded synthetic sample; "
            f"for real data, {self.fix}."
        )


class CredentialsError(DataSourceError):
    """No usable NASA Earthdata credentials (none, or a netrc file that cannot be used)."""


class NoCredentials(CredentialsError):
    """No NASA Earthdata credentials at all: none in the environment, none in a netrc file."""


def one_line(err: BaseException) -> str:
    """An exception as one line: the message of the package's own errors; for others their
    type too (an OSError: its reason and file).

    Examples
    --------
    >>> one_line(GranuleError("no beam groups")), one_line(KeyError("lat"))
    ('no beam groups', "KeyError: 'lat'")
    >>> one_line(FileNotFoundError(2, "No such file or directory", "x.h5"))
    'No such file or directory: x.h5'
    """
    text = " ".join(str(err).split()) or "(no message)"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror if err.filename is None else f"{err.strerror}: {err.filename}"
    return text if isinstance(err, Atl06Error) else f"{type(err).__name__}: {text}"


def shorten(text: object, limit: int = 200) -> str:
    """``text`` as one line of at most ``limit`` characters (for messages quoting a service).

    Examples
    --------
    >>> shorten("a  long\\n reply", limit=8)
    'a long …'
    """
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def format_traceback(err: BaseException) -> str:
    """The traceback of an exception, as Python prints it (with its causes)."""
    return "".join(traceback.format_exception(type(err), err, err.__traceback__))


def log_unexpected(logger: logging.Logger, what: str, err: BaseException) -> None:
    """Log an exception nobody expected, with its traceback, at ERROR level."""
    logger.error("%s: %s", what, one_line(err), exc_info=(type(err), err, err.__traceback__))


#: Set by :func:`debug_logging` so that worker processes print their records too.
DEBUG_ENV = "HELPERS_DEBUG"


def debug_logging() -> None:
    """Print the package's log records, tracebacks included, on standard error (the command
    lines' ``--debug``), here and in the worker processes started from now on."""
    os.environ[DEBUG_ENV] = "1"
    package = logging.getLogger("helpers")
    if any(getattr(h, "_helpers_debug", False) for h in package.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._helpers_debug = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)

