"""Ordering and downloading real granules with icepyx and NASA Harmony, checked end to end.

icepyx 2.x orders through Harmony, which subsets each granule to the area and dates. Around
icepyx's calls this module adds what a learner needs: a login first (so refused credentials
say so, without the server's text), an order that is waited for and *checked* before
anything is downloaded (failed, paused in preview, or finished with errors each give one
message), a count of what arrived against what the search found (never silently partial),
and a manifest so that the same query is not ordered twice. icepyx writes its
``.order_restart`` file into the working directory, so the order runs from the query's
download folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from helpers.config import PIG_BBOX, PIG_DATES, PRODUCT, pinned_version
from helpers.credentials import earthdata_login, require_credentials, source_label
from helpers.earthdata import errors
from helpers.earthdata.manifest import earthdata_folder, find_download, query_folder, write_manifest
from helpers.earthdata.search import earthdata_query

#: Seconds between two looks at an order's status.
ORDER_POLL_SECONDS = 3.0
#: Harmony job states that are still on their way.
WAITING = ("accepted", "running", "running_with_errors")
#: Harmony job states of an order held back (above the preview limit).
HELD = ("previewing", "paused")
HARMONY = "NASA Harmony"
#: harmony-py names a staged output ``<work item id>_<granule name>``; we keep the granule name.
_WORK_ITEM_PREFIX = re.compile(r"^\d+_(?=(processed_)?ATL\d\d_)")


def real_granules(
    bbox: Sequence[float] = PIG_BBOX,
    dates: Sequence[str] = PIG_DATES,
    folder: str | os.PathLike | None = None,
    product: str = PRODUCT,
    version: str | int | None = None,
) -> list[Path]:
    """Real granules for a query: reused from an earlier download of the same query, or
    searched, ordered and downloaded now.

    Parameters
    ----------
    bbox, dates : sequence
        Area ``[W, S, E, N]`` (degrees) and first/last day (ISO dates, inclusive).
    folder : path-like, optional
        The Earthdata folder (default ``<data folder>/earthdata``); each query has its own
        subfolder with a manifest.
    product : str
        Short name.
    version : str or int, optional
        Release; default ``$IS2_VERSION``, else the latest CMR offers.

    Returns
    -------
    list of pathlib.Path
        The granules, sorted.

    Raises
    ------
    DataSourceError
        For every way the real path can fail (see :mod:`helpers.earthdata.errors`).
    """
    try:
        release = pinned_version(version)
    except ValueError as err:
        raise errors.DataSourceError(f"{err}.", "give a release such as 007, or none") from err
    done = find_download(earthdata_folder(folder), product, bbox, dates, release)
    if done is not None:
        return done.paths
    require_credentials()  # before any network call: the clearest message first
    query = earthdata_query(bbox, dates, product, release)
    return download_earthdata(query, folder)


def download_earthdata(query, folder: str | os.PathLike | None = None) -> list[Path]:
    """Log in, order a query's granules from Harmony (subset to its area), download, check.

    A complete earlier download of the same query (product, release, area, dates) is
    returned as it is, with no new order.

    Parameters
    ----------
    query : icepyx.Query
        From :func:`helpers.earthdata.search.earthdata_query`.
    folder : path-like, optional
        The Earthdata folder; the granules go into the query's own subfolder.

    Returns
    -------
    list of pathlib.Path
        The granules, sorted, recorded in the subfolder's manifest.

    Raises
    ------
    DataSourceError
        No or refused credentials, no network, an order failed or paused, or fewer granules
        downloaded than found (those stay in the subfolder but are not recorded).
    """
    bbox, dates, release = query.spatial_extent[1], query.dates, query.product_version
    done = find_download(earthdata_folder(folder), query.product, bbox, dates, release)
    if done is not None:
        return done.paths
    where = require_credentials()
    earthdata_login(where)
    target = query_folder(earthdata_folder(folder), query.product, release, bbox, dates)
    target.mkdir(parents=True, exist_ok=True)
    found = len(query.avail_granules(ids=True)[0])
    source = source_label(where)
    with contextlib.chdir(target):  # icepyx writes .order_restart into the working directory
        with _harmony_errors("(not placed)", source):
            job = query.order_granules().job_id()
        _wait_for_order(query, job, found, source)
        with _harmony_errors(job, source):
            paths = query.download_granules(target)
    if paths is None:  # icepyx found the order failed after all
        raise errors.order_failed(job, "failed")
    files, bad = _keep_granules(paths)
    if len(files) < found:
        raise errors.partial_download(job, len(files), found, str(target), bad)
    return write_manifest(target, query.product, release, bbox, dates, files, [job]).paths


@contextlib.contextmanager
def _harmony_errors(job: str, source: str) -> Iterator[None]:
    """Turn what icepyx and harmony-py raise while ordering into DataSourceErrors."""
    import requests
    from harmony.auth import BadAuthentication
    from icepyx.core.auth import AuthenticationError

    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as err:
        raise errors.no_network(HARMONY) from err
    except (BadAuthentication, AuthenticationError):
        raise errors.login_refused(source, HARMONY) from None
    except requests.HTTPError as err:
        code = err.response.status_code if err.response is not None else "error"
        raise errors.order_failed(job, "refused", f"HTTP {code}") from err
    except Exception as err:
        if type(err) is not Exception:  # harmony-py's error replies are plain Exceptions
            raise
        raise errors.order_failed(job, "refused", " ".join(map(str, err.args))) from err


def _wait_for_order(query, job: str, found: int, source: str) -> None:
    """Wait while Harmony works; DataSourceError unless the order ends ``successful``."""
    with _harmony_errors(job, source):
        status = query.last_order.status()
    if status["status"] in WAITING:
        print(f"Waiting for {HARMONY} to subset {found} granules (order {job})...")
    while status["status"] in WAITING:
        time.sleep(ORDER_POLL_SECONDS)
        with _harmony_errors(job, source):
            status = query.last_order.status()
    state = status["status"]
    if state in HELD:
        raise errors.order_paused(job, int(status.get("num_input_granules") or found))
    if state != "successful":
        raise errors.order_failed(job, state, _first_problem(status))


def _first_problem(status: dict) -> str:
    """Harmony's first error message for an order, else its status message."""
    problems = status.get("errors") or []
    first = problems[0] if problems else {}
    return str(first.get("message", "") if isinstance(first, dict) else first) or str(
        status.get("message", "")
    )


def _keep_granules(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], int]:
    """The downloaded HDF5 granules under their own names, and how many files were not HDF5.

    A file that is not HDF5 (say, a login page saved in place of data) is removed.
    """
    import h5py

    files, bad = [], 0
    for path in map(Path, paths):
        if not path.is_file() or not h5py.is_hdf5(path):
            path.unlink(missing_ok=True)
            bad += 1
            continue
        name = _WORK_ITEM_PREFIX.sub("", path.name)
        if name != path.name:  # the same granule downloaded again replaces the old copy
            path = path.replace(path.parent / name)
        files.append(path)
    return sorted(files), bad
