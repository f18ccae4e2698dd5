"""URLs as the reducer meets them: parsed once, named without secrets, never trusted for a name.

Every label, record and message that names a URL goes through :func:`redact` (or
:func:`scrub` for free text), and every output named after a URL gets its name from
:func:`url_file_name`. Both fail *closed*:

- :func:`redact` keeps the scheme, host, port and path, and drops the user name, password,
  query string and fragment. A URL that cannot be parsed unambiguously -- a malformed host
  or port, or an ``@`` in its path, which is what a password holding an unencoded ``/``,
  ``?`` or ``#`` looks like (``http://user:pa/ss@host/x.h5``) -- is named
  ``scheme://(invalid URL)``, with nothing of the rest;
- :func:`parse_url` raises :class:`InvalidUrl` for the same URLs, so such an input fails
  alone, in one line, and is never fetched;
- :func:`url_file_name` is the URL's last path segment, percent-decoded, and refuses one
  that holds ``/``, ``\\``, a control character, or is ``.`` or ``..`` once decoded
  (``..%2F..%2Fx.h5``): outputs named after it could land outside the output folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from helpers.errors import InvalidUrl

#: How a URL that cannot be parsed unambiguously is named (nothing of it is shown).
INVALID = "(invalid URL)"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HOST = re.compile(r"^[A-Za-z0-9._~%!$&'*+,;=-]*$|^[0-9a-f:.]+(%[\w.~-]+)?$")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]]+")
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
_ENCODE_HINT = ("percent-encode a '/', '?', '#' or '@' in a user name or password: "
                "%2F, %3F, %23, %40")  # fmt: skip


@dataclass(frozen=True)
class UrlParts:
    """A URL split into what may be shown and used.

    Attributes
    ----------
    scheme : str
        Lower case (``https``, ``s3``...).
    host : str
        Host name (lower case), IP address, or S3 bucket.
    port : int or None
        Port, when the URL gives one.
    path : str
        The path, still percent-encoded, as the server expects it.
    """

    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def label(self) -> str:
        """The URL as records and messages show it: no credentials, query or fragment."""
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.path}"


def is_url(item: object) -> bool:
    """True for a string that starts with a URL scheme (``https://``, ``s3://``, ...).

    Examples
    --------
    >>> is_url("s3://bucket/g.h5"), is_url("data/g.h5")
    (True, False)
    """
    return isinstance(item, str) and bool(_SCHEME.match(item))


def parse_url(url: str) -> UrlParts:
    """Split a URL, refusing one that is ambiguous or malformed.

    Raises
    ------
    InvalidUrl
        Not a URL, a malformed host or port, or an ``@`` in the path (an unencoded ``/``,
        ``?`` or ``#`` in a user name or password); the message names the URL as
        :func:`redact` does.

    Examples
    --------
    >>> parse_url("https://me:pw@Host.org:8443/a/g.h5?sig=1#top").label
    'https://host.org:8443/a/g.h5'
    >>> parse_url("http://user:pa/ss@host/x.h5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    helpers.errors.InvalidUrl: http://(invalid URL): not a valid URL (percent-encode ...)
    """
    match = _SCHEME.match(url) if isinstance(url, str) else None
    if match is None:
        raise InvalidUrl(f"{INVALID}: not a URL (scheme://host/path)")
    scheme = match.group(1).lower()
    invalid = f"{scheme}://{INVALID}: not a valid URL"
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or ""), parts.port
    except ValueError as err:  # "Invalid IPv6 URL", a port that is not a number...
        if "port" not in str(err).lower():
            raise InvalidUrl(f"{invalid} ({str(err).split(':')[0]})") from None
        raise InvalidUrl(f"{invalid} ({_ENCODE_HINT})") from None
    if "@" in parts.path or not _HOST.match(host) or "\\" in parts.netloc:
        raise InvalidUrl(f"{invalid} ({_ENCODE_HINT})")
    if not host:
        raise InvalidUrl(f"{invalid} (no host)")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address, shown as it is written in a URL
    return UrlParts(scheme=scheme, host=host, port=port, path=parts.path)


def redact(url: str) -> str:
    """A URL without what may be secret: user name, password, query string, fragment.

    Never fails and never fails open: a URL that :func:`parse_url` refuses becomes
    ``scheme://(invalid URL)``.

    Examples
    --------
    >>> redact("https://me:pw@host.org:8443/data/g.h5?X-Amz-Signature=abc#top")
    'https://host.org:8443/data/g.h5'
    >>> redact("http://user:pa#ss@host/x.h5"), redact("http://[::1/x.h5?t=SECRET")
    ('http://(invalid URL)', 'http://(invalid URL)')
    """
    try:
        return parse_url(url).label
    except InvalidUrl:
        match = _SCHEME.match(url) if isinstance(url, str) else None
        return f"{match.group(1).lower()}://{INVALID}" if match else INVALID


def scrub(text: str) -> str:
    """``text`` with every URL in it :func:`redact`-ed (for messages that quote errors).

    Examples
    --------
    >>> scrub("cannot open s3://b/g.h5?token=XYZ, or http://u:p@h/x.h5.")
    'cannot open s3://b/g.h5, or http://h/x.h5.'
    """

    def one(match: re.Match) -> str:
        url = match.group(0)
        core = url.rstrip(".,;:")  # punctuation that ends a sentence, not the URL
        return redact(core) + url[len(core) :]

    return _URL_IN_TEXT.sub(one, text)


def url_file_name(url: str) -> str:
    """The file name a URL gives its outputs: its last path segment, percent-decoded.

    Raises
    ------
    InvalidUrl
        The URL is invalid (:func:`parse_url`), or its name holds a ``/``, a ``\\`` or a
        control character, or is empty, ``.`` or ``..`` once decoded.

    Examples
    --------
    >>> url_file_name("https://host/a/ATL06%20x.h5?sig=1")
    'ATL06 x.h5'
    >>> url_file_name("http://host/d/..%2F..%2FX.h5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    helpers.errors.InvalidUrl: http://host/d/..%2F..%2FX.h5: its file name, '../../X.h5' ...
    """
    parts = parse_url(url)
    name = unquote(parts.path.rsplit("/", 1)[-1])
    if name in ("", ".", ".."):
        raise InvalidUrl(f"{parts.label}: no file name to name its outputs after")
    if _UNSAFE_NAME.search(name):
        shown = name.encode("unicode_escape").decode("ascii")
        raise InvalidUrl(
            f"{parts.label}: its file name, {shown!r} once decoded, holds a '/', a '\\' or a "
            "control character: outputs named after it could be written outside the output folder"
        )
    return name


#: Secrets shorter than this are not searched for in text (they would match ordinary words).
MIN_SECRET_LEN = 4


def secrets_of(url: str) -> list[str]:
    """What of a URL must never be shown: its user information (whole, and user name and
    password apart), query string and fragment, as written and percent-decoded. For a
    URL that :func:`parse_url` refuses, everything after ``scheme://`` counts too.

    Examples
    --------
    >>> secrets_of("https://me:p%40ss@host/g.h5?token=XYZ1#frag")
    ['me:p%40ss', 'me:p@ss', 'p%40ss', 'p@ss', 'token=XYZ1', 'XYZ1', 'frag']
    """
    match = _SCHEME.match(url) if isinstance(url, str) else None
    if match is None:
        return []
    rest = url[match.end() :]
    pieces: list[str] = []
    if "@" in rest:
        userinfo = rest.rsplit("@", 1)[0]
        pieces += [userinfo, *userinfo.split(":", 1)[1:]]
    if "?" in rest:
        query = rest.split("?", 1)[1].split("#", 1)[0]
        pieces += [query, *(part.partition("=")[2] for part in query.split("&"))]
    if "#" in rest:
        pieces.append(rest.split("#", 1)[1])
    try:
        parse_url(url)
    except InvalidUrl:
        pieces.append(rest)
    found: list[str] = []
    for piece in pieces:
        for form in (piece, unquote(piece)):
            if len(form) >= MIN_SECRET_LEN and form not in found:
                found.append(form)
    return found


def censor(text: str, secrets: list[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***`` (longest first).

    Examples
    --------
    >>> censor("login as me:hunter2 failed", ["me:hunter2", "hunter2"])
    'login as *** failed'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
