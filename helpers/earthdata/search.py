"""Searching NASA's CMR: which releases of a product exist, and a query for area and dates.

A release is *offered* when CMR lists a cloud-hosted collection for it: that is what icepyx
2.x orders from (through Harmony), so a release CMR no longer lists (ATL06 006 since 2026)
cannot be ordered. By default a search takes the latest release offered; ``version=`` or
``$IS2_VERSION`` pins one.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpers.config import PIG_BBOX, PIG_DATES, PRODUCT, pinned_version
from helpers.earthdata import errors

#: What the real search is called in messages.
CMR = "NASA's CMR catalogue"


def available_releases(product: str = PRODUCT) -> list[str]:
    """The releases of a product that NASA's CMR offers today, oldest first (needs network).

    Parameters
    ----------
    product : str
        Short name, e.g. ``"ATL06"``.

    Returns
    -------
    list of str
        Three-digit releases, e.g. ``["007"]``; empty if CMR lists none.

    Raises
    ------
    DataSourceError
        If CMR cannot be reached or answers with an error.

    Examples
    --------
    >>> available_releases("ATL06")  # doctest: +SKIP
    ['007']
    """
    import earthaccess
    import requests

    try:
        collections = earthaccess.search_datasets(short_name=product, cloud_hosted=True)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise errors.no_network(CMR) from err
    except RuntimeError as err:  # earthaccess's wrapper of an HTTP error from CMR
        raise errors.search_refused(str(err)) from err
    found = {
        str(c["umm"].get("Version", "")).zfill(3)
        for c in collections
        if c.get("umm", {}).get("ShortName", product) == product
    }
    return sorted((v for v in found if v.isdigit()), key=int)


def resolve_release(product: str = PRODUCT, version: str | int | None = None) -> str:
    """The release a search will use: the pinned one if CMR offers it, else the latest.

    Parameters
    ----------
    product : str
        Short name.
    version : str or int, optional
        A release to pin; default ``$IS2_VERSION``, and when that is unset too, the latest.

    Returns
    -------
    str
        Three digits, e.g. ``"007"``.

    Raises
    ------
    DataSourceError
        No network, or the pinned release is not offered (the message lists those that are).
    """
    releases = available_releases(product)
    wanted = pinned_version(version)
    if wanted is None and releases:
        return releases[-1]
    if wanted is None or wanted not in releases:
        raise errors.unknown_release(product, wanted or "(latest)", releases)
    return wanted


def earthdata_query(
    bbox: Sequence[float] = PIG_BBOX,
    dates: Sequence[str] = PIG_DATES,
    product: str = PRODUCT,
    version: str | int | None = None,
):
    """An icepyx Query for real granules, with its granule list already fetched (network).

    Parameters
    ----------
    bbox, dates : sequence
        Area ``[W, S, E, N]`` (degrees) and first/last day (ISO dates, inclusive).
    product : str
        Short name.
    version : str or int, optional
        Release to search; default ``$IS2_VERSION``, else the latest CMR offers.
        ``query.product_version`` says which one was used.

    Returns
    -------
    icepyx.Query
        ``query.avail_granules(ids=True)[0]`` lists the granules found (no new request).

    Raises
    ------
    DataSourceError
        No network; the release is not offered; CMR rejects the search; nothing found.
    """
    import requests

    release = resolve_release(product, version)  # before icepyx's slow import: fails fast offline
    from helpers.render import enable_offline_bokeh

    enable_offline_bokeh()  # importing icepyx loads BokehJS: embed it rather than ask a CDN
    import icepyx as ipx

    try:
        query = ipx.Query(product, list(bbox), list(dates), version=release)
    except (requests.ConnectionError, requests.Timeout) as err:
        raise errors.no_network(CMR) from err
    _search_granules(query, bbox, dates)
    return query


def _search_granules(query, bbox: Sequence[float], dates: Sequence[str]) -> None:
    """Run the query's granule search now, turning each way it fails into a DataSourceError."""
    import requests
    from icepyx.core.exceptions import NsidcQueryError

    product, release = query.product, query.product_version
    try:
        query.avail_granules()
    except (requests.ConnectionError, requests.Timeout) as err:
        raise errors.no_network(CMR) from err
    except (NsidcQueryError, requests.HTTPError) as err:
        raise errors.search_refused(str(err)) from err
    except AssertionError as err:  # icepyx checks its results with assert statements
        if "no results" not in str(err):
            raise errors.search_refused(str(err)) from err
        raise errors.no_granules(product, release, bbox, dates) from err
    except ValueError as err:  # icepyx: "Could not find concept ID for ATL06 v006"
        if "concept ID" not in str(err):
            raise
        raise errors.unknown_release(product, release, available_releases(product)) from err
