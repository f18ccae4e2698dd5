"""Earthdata credentials: where they come from, whether they can be used, and the login.

Credentials come from the environment (``EARTHDATA_USERNAME`` and ``EARTHDATA_PASSWORD``)
or from a netrc file (``$NETRC`` when set, else ``~/.netrc``), in that order, as earthaccess
reads them. They are never returned, printed or stored by this module: it only says *where*
they are. A netrc file must be readable by its owner only, as Python's :mod:`netrc` and
curl insist, because it holds a password.
"""

from __future__ import annotations

import contextlib
import logging
import netrc
import os
import platform
import stat
from collections.abc import Iterator
from pathlib import Path

from helpers.earthdata import errors

ENVIRONMENT = "environment"
NETRC = "netrc"


def _default_netrc_name() -> str:
    return "_netrc" if platform.system() == "Windows" else ".netrc"


def netrc_path() -> Path:
    """The netrc file earthaccess reads: ``$NETRC`` if set and not empty, else ``~/.netrc``
    (``~/_netrc`` on Windows)."""
    env = os.environ.get("NETRC")
    return Path(env) if env else Path.home() / _default_netrc_name()


def netrc_label(path: Path | None = None) -> str:
    """How messages name the netrc file: ``~/.netrc``, or the path ``$NETRC`` gives."""
    path = path or netrc_path()
    return f"~/{_default_netrc_name()}" if not os.environ.get("NETRC") else str(path)


def earthdata_credentials() -> str | None:
    """Where Earthdata credentials would come from, or None. Never returns the secrets.

    Returns
    -------
    str or None
        ``"environment"`` (EARTHDATA_USERNAME and EARTHDATA_PASSWORD set), ``"netrc"``
        (an entry for the Earthdata login host in the netrc file), or None.

    Raises
    ------
    DataSourceError
        If the environment has no credentials and the netrc file exists but cannot be used
        (readable by others, owned by someone else, unreadable, or not valid netrc syntax).
    """
    if os.environ.get("EARTHDATA_USERNAME") and os.environ.get("EARTHDATA_PASSWORD"):
        return ENVIRONMENT
    path = netrc_path()
    if not path.exists():
        return None
    _check_netrc_permissions(path)
    return NETRC if _netrc_entry(path) else None


def _check_netrc_permissions(path: Path) -> None:
    """DataSourceError if the netrc file is open to others or belongs to another user."""
    label = netrc_label(path)
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise errors.netrc_unreadable(label, "it is a folder", "point NETRC at a file")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise errors.netrc_unreadable(
            label, "it belongs to another user", f"make it yours and run chmod 600 {label}"
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise errors.netrc_unreadable(
            label,
            f"other users may read it (mode {mode:o}) and it holds a password",
            f"run chmod 600 {label}",
        )


def _netrc_entry(path: Path) -> bool:
    """True if the netrc file has a login and password for the Earthdata login host."""
    label = netrc_label(path)
    try:
        entry = netrc.netrc(str(path)).authenticators(errors.EARTHDATA_LOGIN_HOST)
    except netrc.NetrcParseError as err:
        raise errors.netrc_unreadable(
            label,
            f"line {err.lineno} is not valid netrc syntax",
            f"write it as 'machine {errors.EARTHDATA_LOGIN_HOST} login USER password PASS'",
        ) from None
    except UnicodeDecodeError:  # PowerShell's ">" writes UTF-16; some editors Latin-1
        raise errors.netrc_unreadable(
            label, "it is not UTF-8 text (Windows PowerShell's '>' writes UTF-16)",
            "save it as UTF-8 or plain ASCII (e.g. Set-Content -Encoding ascii, or "
            "Notepad's Save As with UTF-8)",
        ) from None  # fmt: skip
    except OSError as err:
        raise errors.netrc_unreadable(
            label, f"it cannot be read ({err.strerror or type(err).__name__})",
            f"make it readable by you and run chmod 600 {label}",
        ) from None  # fmt: skip
    return bool(entry and entry[0] and entry[2])


def require_credentials() -> str:
    """Where the Earthdata credentials come from; DataSourceError if there are none.

    Returns
    -------
    str
        ``"environment"`` or ``"netrc"``.

    Raises
    ------
    DataSourceError
        If none are configured or the netrc file cannot be used.
    """
    where = earthdata_credentials()
    if where is None:
        raise errors.no_credentials(netrc_label())
    return where


@contextlib.contextmanager
def quiet_loggers(*names: str) -> Iterator[None]:
    """Silence these loggers for a while: earthaccess logs the server's reply to a login."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def earthdata_login(where: str | None = None):
    """Log in to NASA Earthdata with earthaccess, from the environment or the netrc file.

    Later logins in the same process (icepyx's own, when it orders) reuse this one.

    Parameters
    ----------
    where : str, optional
        ``"environment"`` or ``"netrc"``; default :func:`require_credentials`.

    Returns
    -------
    earthaccess.Auth
        The authenticated session holder (its secrets are not shown by this project).

    Raises
    ------
    DataSourceError
        No credentials, an unusable netrc file, no network, or credentials refused.
    """
    import earthaccess
    import requests
    from earthaccess.exceptions import LoginAttemptFailure, LoginStrategyUnavailable

    where = where or require_credentials()
    source = (
        "the environment (EARTHDATA_USERNAME, EARTHDATA_PASSWORD)"
        if where == ENVIRONMENT
        else netrc_label()
    )
    try:
        with quiet_loggers("earthaccess"):
            auth = earthaccess.login(strategy=where)
    except (requests.ConnectionError, requests.Timeout):
        raise errors.no_network("NASA Earthdata Login") from None
    except LoginAttemptFailure:
        raise errors.login_refused(source) from None
    except LoginStrategyUnavailable:
        raise errors.no_credentials(netrc_label()) from None
    if not auth.authenticated:
        raise errors.login_refused(source)
    return auth
