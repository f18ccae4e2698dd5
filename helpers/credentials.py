"""NASA Earthdata credentials, for every part of the package: where they are, whether they
can be used, and the login.

One strategy, earthaccess's own, shared by the search and order path
(:mod:`helpers.earthdata`) and the reducer's URLs (:mod:`helpers.reduce.sources`):

1. the environment: ``EARTHDATA_TOKEN``, or ``EARTHDATA_USERNAME`` and ``EARTHDATA_PASSWORD``;
2. a netrc file (``$NETRC`` when set, else ``~/.netrc``, ``~/_netrc`` on Windows) with an
   entry for the Earthdata login host. It must be readable by its owner only (as Python's
   :mod:`netrc` and curl insist: it holds a password), valid netrc syntax, and UTF-8 or ASCII
   text. A netrc file without that entry is the same as none.

Credentials are never returned, printed or stored here: only *where* they are is said.
Every failure is a :class:`~helpers.errors.CredentialsError` (or, for no network or a
refusal, a :class:`~helpers.errors.DataSourceError`) whose message says what to do.
earthaccess is quieted the one way (:func:`quiet_earthaccess`): it logs the server's reply
to a login.
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
from typing import Any, Literal

from helpers.errors import CredentialsError, DataSourceError, NoCredentials

#: Where NASA Earthdata accounts are made and checked (also the netrc machine name).
EARTHDATA_LOGIN_HOST = "urs.earthdata.nasa.gov"

#: Where credentials come from, as earthaccess names its login strategies.
Where = Literal["environment", "netrc"]
ENVIRONMENT: Where = "environment"
NETRC: Where = "netrc"


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


def source_label(where: Where) -> str:
    """How messages name where credentials came from (never the credentials)."""
    if where == ENVIRONMENT:
        if os.environ.get("EARTHDATA_TOKEN"):
            return "the environment (EARTHDATA_TOKEN)"
        return "the environment (EARTHDATA_USERNAME, EARTHDATA_PASSWORD)"
    return netrc_label()


# --------------------------------------------------------------------------- messages


def no_credentials(netrc_name: str) -> NoCredentials:
    """Neither the environment nor the netrc file holds Earthdata credentials."""
    return NoCredentials(
        "No NASA Earthdata credentials found: neither EARTHDATA_USERNAME and "
        "EARTHDATA_PASSWORD (or EARTHDATA_TOKEN) in the environment nor a "
        f"{EARTHDATA_LOGIN_HOST} entry in {netrc_name}.",
        "set both environment variables before starting Jupyter, or add the line 'machine "
        f"{EARTHDATA_LOGIN_HOST} login USER password PASS' to {netrc_name} and run chmod 600 "
        f"{netrc_name} (free accounts at https://{EARTHDATA_LOGIN_HOST})",
    )


def netrc_unreadable(netrc_name: str, reason: str, fix: str) -> CredentialsError:
    """The netrc file exists but cannot be used (permissions, owner, syntax, encoding)."""
    return CredentialsError(f"{netrc_name} cannot be used: {reason}.", fix)


def login_refused(source: str, service: str = "NASA Earthdata Login") -> DataSourceError:
    """Earthdata Login (or Harmony, through it) said no to the credentials; the server's
    reply is not repeated."""
    return DataSourceError(
        f"{service} refused the credentials from {source}.",
        f"check the user name and password by logging in at https://{EARTHDATA_LOGIN_HOST}, "
        "correct them where they are set, and run this again",
    )


def no_network(service: str) -> DataSourceError:
    """A service could not be reached at all (no network, DNS failure, timeout)."""
    return DataSourceError(
        f"Cannot reach {service} (no network?).", "connect to the internet and run this again"
    )


# --------------------------------------------------------------------------- where


def earthdata_credentials() -> Where | None:
    """Where Earthdata credentials would come from, or None. Never returns the secrets.

    Returns
    -------
    str or None
        ``"environment"`` (``EARTHDATA_TOKEN``, or ``EARTHDATA_USERNAME`` and
        ``EARTHDATA_PASSWORD``), ``"netrc"`` (an entry for the Earthdata login host in the
        netrc file), or None.

    Raises
    ------
    CredentialsError
        If the environment has no credentials and the netrc file exists but cannot be used
        (readable by others, owned by someone else, unreadable, not netrc syntax, not text).
    """
    env = os.environ
    if env.get("EARTHDATA_TOKEN") or (env.get("EARTHDATA_USERNAME") and
                                      env.get("EARTHDATA_PASSWORD")):  # fmt: skip
        return ENVIRONMENT
    path = netrc_path()
    if not path.exists():
        return None
    _check_netrc_permissions(path)
    return NETRC if _netrc_entry(path) else None


def require_credentials() -> Where:
    """Where the Earthdata credentials come from; CredentialsError if there are none."""
    where = earthdata_credentials()
    if where is None:
        raise no_credentials(netrc_label())
    return where


def _check_netrc_permissions(path: Path) -> None:
    """CredentialsError if the netrc file is open to others or belongs to another user."""
    label = netrc_label(path)
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise netrc_unreadable(label, "it is a folder", "point NETRC at a file")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise netrc_unreadable(
            label, "it belongs to another user", f"make it yours and run chmod 600 {label}"
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise netrc_unreadable(
            label,
            f"other users may read it (mode {mode:o}) and it holds a password",
            f"run chmod 600 {label}",
        )


def _netrc_entry(path: Path) -> bool:
    """True if the netrc file has a login and password for the Earthdata login host."""
    label = netrc_label(path)
    try:
        entry = netrc.netrc(str(path)).authenticators(EARTHDATA_LOGIN_HOST)
    except netrc.NetrcParseError as err:
        raise netrc_unreadable(
            label,
            f"line {err.lineno} is not valid netrc syntax",
            f"write it as 'machine {EARTHDATA_LOGIN_HOST} login USER password PASS'",
        ) from None  # the parser's message quotes the file's text: a password
    except UnicodeDecodeError:  # PowerShell's ">" writes UTF-16; some editors Latin-1
        raise netrc_unreadable(
            label, "it is not UTF-8 text (Windows PowerShell's '>' writes UTF-16)",
            "save it as UTF-8 or plain ASCII (e.g. Set-Content -Encoding ascii, or "
            "Notepad's Save As with UTF-8)",
        ) from None  # the decoder's message quotes the file's bytes  # fmt: skip
    except OSError as err:
        raise netrc_unreadable(
            label, f"it cannot be read ({err.strerror or type(err).__name__})",
            f"make it readable by you and run chmod 600 {label}",
        ) from err  # fmt: skip
    return bool(entry and entry[0] and entry[2])


# --------------------------------------------------------------------------- login


@contextlib.contextmanager
def quiet_earthaccess() -> Iterator[None]:
    """Silence earthaccess's logger for a while: it logs the server's reply to a login."""
    logger = logging.getLogger("earthaccess")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def earthdata_login(where: Where | None = None) -> Any:
    """Log in to NASA Earthdata with earthaccess, from the environment or the netrc file.

    Later logins in the same process (icepyx's own, when it orders; the reducer's URLs)
    reuse this one.

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
        No credentials or an unusable netrc file (:class:`~helpers.errors.CredentialsError`),
        no network, or credentials refused.
    """
    import earthaccess
    import requests
    from earthaccess.exceptions import LoginAttemptFailure, LoginStrategyUnavailable

    where = where or require_credentials()
    try:
        with quiet_earthaccess():
            auth = earthaccess.login(strategy=where)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise no_network("NASA Earthdata Login") from err
    except LoginAttemptFailure:
        raise login_refused(source_label(where)) from None  # its text is the server's reply
    except LoginStrategyUnavailable as err:
        raise no_credentials(netrc_label()) from err
    if not auth.authenticated:
        raise login_refused(source_label(where))
    return auth


def logged_in_earthaccess() -> Any:
    """The earthaccess module, logged in: an earlier login of this process (e.g. the user's
    own ``earthaccess.login()``), else one now (never interactive: a worker process logs in
    on its own, from its environment).

    Raises
    ------
    DataSourceError
        As :func:`earthdata_login`.
    """
    import earthaccess

    if earthaccess.__auth__.authenticated and earthaccess.__store__ is not None:
        return earthaccess
    where = require_credentials()
    earthdata_login(where)
    if earthaccess.__store__ is None:
        raise login_refused(source_label(where))
    return earthaccess
