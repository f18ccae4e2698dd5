"""Real ATL06 granules from NASA: releases, credentials, search, order, download, reuse.

The real path of :mod:`helpers.access`, in four modules, each with one concern (the
credentials and the login are :mod:`helpers.credentials`, shared with the reducer):

- :mod:`helpers.earthdata.errors`      every message a :class:`DataSourceError` carries
- :mod:`helpers.earthdata.search`      which releases CMR offers; the icepyx query
- :mod:`helpers.earthdata.order`       the Harmony order, waited for, downloaded and checked
- :mod:`helpers.earthdata.manifest`    what was downloaded for which query, for reuse

Everything that needs the network imports icepyx, earthaccess or harmony-py inside the
function, so importing this package is fast and works offline.
"""

from helpers.credentials import (
    EARTHDATA_LOGIN_HOST,
    earthdata_credentials,
    earthdata_login,
    netrc_path,
    require_credentials,
)
from helpers.earthdata.manifest import (
    Download,
    downloaded_granules,
    earthdata_folder,
    find_download,
    read_manifest,
)
from helpers.earthdata.order import download_earthdata, real_granules
from helpers.earthdata.search import available_releases, earthdata_query, resolve_release
from helpers.errors import DataSourceError

__all__ = [
    "EARTHDATA_LOGIN_HOST",
    "DataSourceError",
    "Download",
    "available_releases",
    "download_earthdata",
    "downloaded_granules",
    "earthdata_credentials",
    "earthdata_folder",
    "earthdata_login",
    "earthdata_query",
    "find_download",
    "netrc_path",
    "read_manifest",
    "real_granules",
    "require_credentials",
    "resolve_release",
]
