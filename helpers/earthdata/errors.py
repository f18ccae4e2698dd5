"""One error for every way the real data path can fail, each saying what happened and what to do.

Every failure of the real path (search, login, order, download) becomes a
:class:`~helpers.errors.DataSourceError` built by one of the functions below (those of the
login live in :mod:`helpers.credentials`, shared with the reducer, and are named here too),
so the wording lives in one place. A message never holds a password, a token or a server's
reply to a login.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpers.config import VERSION_ENV
from helpers.credentials import (  # the login's messages, shared with the reducer's URLs
    EARTHDATA_LOGIN_HOST,
    login_refused,
    netrc_unreadable,
    no_credentials,
    no_network,
)
from helpers.errors import DataSourceError, shorten

__all__ = [
    "EARTHDATA_LOGIN_HOST", "DataSourceError", "login_refused", "netrc_unreadable",
    "no_credentials", "no_granules", "no_network", "order_failed", "order_paused",
    "partial_download", "search_refused", "unknown_release",
]  # fmt: skip
#: Harmony's page for one order, followed by the job ID.
HARMONY_JOB_PAGE = "https://harmony.earthdata.nasa.gov/workflow-ui/"
#: Harmony holds orders above this many granules in "preview" until they are resumed.
HARMONY_PREVIEW_LIMIT = 300


def unknown_release(product: str, release: str, releases: Sequence[str]) -> DataSourceError:
    """The asked release is not among those CMR offers (e.g. release 006, retired in 2026)."""
    if not releases:
        return DataSourceError(
            f"NASA's CMR offers no release of {product} at all right now.",
            "check the product name, or try again later (CMR may be having trouble)",
        )
    latest = releases[-1]
    return DataSourceError(
        f"{product} release {release} is not offered by NASA's CMR (releases offered: "
        f"{', '.join(releases)}).",
        f"ask for one of those (version='{latest}' or {VERSION_ENV}={latest}), or leave the "
        "release unset to get the latest",
    )


def no_granules(product: str, release: str, bbox, dates) -> DataSourceError:
    """The search ran but found nothing for the area and dates."""
    area = ", ".join(f"{v:g}" for v in bbox)
    return DataSourceError(
        f"NASA's CMR has no {product} release {release} granules over [W, S, E, N] = [{area}] "
        f"from {dates[0]} to {dates[1]}.",
        "widen the area or the dates (BBOX, DATES)",
    )


def search_refused(detail: str) -> DataSourceError:
    """CMR answered the search with an error (a malformed area or dates, an outage)."""
    return DataSourceError(
        f"NASA's CMR rejected the search ({shorten(detail)}).",
        "check the area ([W, S, E, N] in degrees) and the dates (YYYY-MM-DD), then run again",
    )


def order_failed(job: str, status: str, detail: str = "") -> DataSourceError:
    """Harmony could not process the order (failed, canceled, finished with errors)."""
    said = f": {shorten(detail)}" if detail else ""
    return DataSourceError(
        f"NASA Harmony could not complete order {job} (status {status}{said}); nothing was "
        "downloaded.",
        f"try again later or narrow the area or dates; the order's details are at "
        f"{HARMONY_JOB_PAGE}{job}",
    )


def order_paused(job: str, granules: int) -> DataSourceError:
    """Harmony holds a big order in preview/paused: downloading now would be partial."""
    return DataSourceError(
        f"NASA Harmony paused order {job} for {granules} granules (orders above "
        f"{HARMONY_PREVIEW_LIMIT} granules wait in preview); nothing was downloaded.",
        f"narrow the dates or the area to fewer than {HARMONY_PREVIEW_LIMIT} granules and run "
        f"again, or resume the order at {HARMONY_JOB_PAGE}{job} and download it with icepyx",
    )


def partial_download(job: str, got: int, found: int, folder: str, bad: int = 0) -> DataSourceError:
    """Fewer granules arrived than the search found (never used as if complete)."""
    junk = f" ({bad} downloaded files were not HDF5 and were removed)" if bad else ""
    if got == 0:
        return DataSourceError(
            f"Order {job} finished but none of the {found} granules found was downloaded{junk}.",
            f"run this again; if it happens again, look at the order at {HARMONY_JOB_PAGE}{job}",
        )
    return DataSourceError(
        f"Only {got} of the {found} granules found were downloaded (order {job}){junk}; they "
        f"are in {folder} but are not used as if complete.",
        "run this again to fetch the rest; to work with the partial set on purpose, pass "
        f"helpers.access.downloaded_granules('{folder}') to the next steps",
    )
