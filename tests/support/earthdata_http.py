"""NASA's real-data services answered offline, in their own formats, for the ``responses`` library.

The real icepyx, earthaccess and harmony-py code runs unchanged; only the HTTP exchanges
are played from here. All three libraries speak HTTP through ``requests``, so
``responses`` intercepts them where ``requests`` hands a prepared request to its transport
adapter: everything above that (URLs, parameters, headers, cookies, redirects, JSON
parsing, paging, streaming a download to disk) is the libraries' own code. A request
nothing here answers fails as with no network: ``requests.ConnectionError``.

The replies follow the formats the services document and the libraries parse:

- NASA CMR: collection search in the JSON feed (``collections.json``, icepyx's "latest
  version") and in UMM-JSON (``collections.umm_json``, earthaccess), granule search in the
  JSON feed with ``CMR-Hits`` and ``CMR-Search-After`` paging (icepyx).
- Earthdata Login: ``POST /api/users/find_or_create_token`` with HTTP basic auth (a bearer
  token, or 401 ``invalid_credentials``), ``/profile``, and the OAuth redirect that
  Harmony sends a new session through.
- Harmony: the OGC coverages ``rangeset`` submission (multipart form), ``/labels``, the job
  document ``/jobs/<id>`` (status, progress, ``numInputGranules``, errors, result links),
  the batch ``/jobs/status``, and ``service-results`` links that redirect to a signed
  object-store URL serving the granule.

Everything secret here is made up at test time (:func:`fake_credentials`); the collection
concept ID for ATL06 release 007 is the one icepyx's documentation shows. A job's state
moves along ``states`` one step per job-document request, as a real job does between polls.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qs, quote, urlsplit

import responses

CMR = "https://cmr.earthdata.nasa.gov/search"
URS = "https://urs.earthdata.nasa.gov"
HARMONY = "https://harmony.earthdata.nasa.gov"
STAGING = "https://harmony-prod-staging.s3.us-west-2.amazonaws.com"
#: CMR concept IDs of ATL06 collections by release (007 as in icepyx's docs; 006 made up).
COLLECTIONS = {"006": "C0000000006-NSIDC_CPRD", "007": "C3564876127-NSIDC_CPRD"}
#: The AWS instance-metadata address earthaccess probes (unanswered here, as off AWS).
AWS_METADATA = "http://169.254.169.254"


def fake_credentials() -> tuple[str, str]:
    """An obviously fake Earthdata user name and password, new for each test."""
    return f"test-user-{secrets.token_hex(3)}", f"not-a-password-{secrets.token_hex(8)}"


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _granule_start(name: str) -> datetime:
    stamp = re.search(r"ATL\d\d_(\d{14})_", name).group(1)
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass
class FakeNasa:
    """The services, as one small world: what CMR lists and what a Harmony order does.

    Parameters
    ----------
    credentials : (str, str)
        The only user name and password Earthdata Login accepts.
    releases : tuple of str
        ATL06 releases CMR lists (cloud hosted).
    granules : list of str
        Producer granule IDs the granule search finds (for any release asked).
    outputs : dict of str to bytes
        Harmony's result files (name -> content), one link each in the job document.
    states : list of str
        The job's state at each job-document request (the last one repeats).
    num_input_granules : int, optional
        What Harmony reports it is working on; default ``len(granules)``.
    job_errors : list of str
        Messages in the job document's ``errors``.
    harmony_authorized : bool
        False: Earthdata Login refuses Harmony's OAuth sign-in (401) for these credentials.
    """

    credentials: tuple[str, str]
    releases: tuple[str, ...] = ("007",)
    granules: list[str] = field(default_factory=list)
    outputs: dict[str, bytes] = field(default_factory=dict)
    states: list[str] = field(default_factory=lambda: ["running", "successful"])
    num_input_granules: int | None = None
    job_errors: list[str] = field(default_factory=list)
    harmony_authorized: bool = True
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    orders: list[dict] = field(default_factory=list)
    token_requests: list[str] = field(default_factory=list)
    _polls: int = 0

    def __post_init__(self):
        self.credentials = tuple(self.credentials)

    # -- installing -------------------------------------------------------------------------
    def install(self, rsps: responses.RequestsMock) -> FakeNasa:
        """Register every exchange with a started ``responses.RequestsMock``."""
        get, post = responses.GET, responses.POST
        rsps.add_callback(get, f"{CMR}/collections.json", self._collections_feed)
        rsps.add_callback(get, re.compile(rf"{CMR}/collections\.umm_json.*"), self._umm)
        rsps.add_callback(get, re.compile(rf"{CMR}/granules(\?.*)?$"), self._granule_feed)
        rsps.add_callback(post, f"{URS}/api/users/find_or_create_token", self._token)
        rsps.add(
            get,
            f"{URS}/profile",
            body="<html><body>Profile</body></html>",
            content_type="text/html",
        )
        rsps.add_callback(get, re.compile(rf"{URS}/oauth/authorize.*"), self._authorize)
        rsps.add_callback(get, re.compile(rf"{HARMONY}/oauth2/redirect.*"), self._harmony_cookie)
        rsps.add_callback(get, f"{HARMONY}/jobs", self._jobs_listing)
        rsps.add_callback(post, re.compile(rf"{HARMONY}/C[^/]+/ogc-api-coverages/.*"), self._submit)
        rsps.add_callback(responses.PUT, re.compile(rf"{HARMONY}/labels.*"), self._labels)
        rsps.add_callback(get, re.compile(rf"{HARMONY}/jobs/{self.job_id}(\?.*)?$"), self._job)
        rsps.add_callback(post, f"{HARMONY}/jobs/status", self._batch_status)
        rsps.add_callback(get, re.compile(rf"{HARMONY}/service-results/.*"), self._result)
        rsps.add_callback(get, re.compile(rf"{STAGING}/.*"), self._staged)
        return self

    # -- CMR ----------------------------------------------------------------------------------
    def _collections(self, version: str | None = None) -> list[tuple[str, str]]:
        return [(r, COLLECTIONS[r]) for r in self.releases if version in (None, r)]

    def _collections_feed(self, request):
        entries = [
            {
                "id": cid,
                "short_name": "ATL06",
                "version_id": release,
                "title": f"ATLAS/ICESat-2 L3A Land Ice Height V{release}",
                "dataset_id": f"ATLAS/ICESat-2 L3A Land Ice Height V{release}",
                "summary": "ATL06 contains geolocated land-ice surface heights above the WGS84 "
                "ellipsoid, plus ancillary parameters.",
                "time_start": "2018-10-14T00:00:00.000Z",
                "coordinate_system": "CARTESIAN",
                "orbit_parameters": {},
                "processing_level_id": "Level 3A",
                "data_center": "NSIDC_CPRD",
                "archive_center": "NSIDC DAAC",
                "online_access_flag": True,
                "browse_flag": False,
                "links": [],
            }
            for release, cid in self._collections()
        ]
        feed = {
            "feed": {
                "updated": _stamp(datetime.now(UTC)),
                "title": "ECHO dataset metadata",
                "id": request.url,
                "entry": entries,
            }
        }
        return (
            200,
            {"Content-Type": "application/json", "CMR-Hits": str(len(entries))},
            json.dumps(feed),
        )

    def _umm(self, request):
        query = parse_qs(urlsplit(request.url).query)
        if query.get("short_name", ["ATL06"])[0] != "ATL06":
            found = []
        else:
            found = self._collections(query.get("version", [None])[0])
        size = int(query.get("page_size", ["2000"])[0])
        items = [
            {
                "meta": {
                    "concept-id": cid,
                    "provider-id": "NSIDC_CPRD",
                    "concept-type": "collection",
                    "native-id": f"ATL06_{release}",
                    "revision-id": 3,
                    "s3-links": [f"nsidc-cumulus-prod-protected/ATLAS/ATL06/{release}"],
                },
                "umm": {
                    "ShortName": "ATL06",
                    "Version": release,
                    "EntryTitle": f"ATLAS/ICESat-2 L3A Land Ice Height V{release}",
                    "DOI": {"DOI": f"10.5067/ATLAS/ATL06.{release}"},
                    "ProcessingLevel": {"Id": "3A"},
                },
            }
            for release, cid in found
        ][:size]
        body = {"hits": len(found), "took": 7, "items": items}
        return (
            200,
            {
                "Content-Type": "application/vnd.nasa.cmr.umm_results+json",
                "CMR-Hits": str(len(found)),
            },
            json.dumps(body),
        )

    def _granule_entry(self, name: str, concept_id: str) -> dict:
        start = _granule_start(name)
        release = name.split("_")[3]
        path = f"ATLAS/ATL06/{release}/{start:%Y/%m/%d}/{name}"
        return {
            "id": f"G{abs(hash(name)) % 10**10:010d}-NSIDC_CPRD",
            "title": name,
            "producer_granule_id": name,
            "collection_concept_id": concept_id,
            "dataset_id": f"ATLAS/ICESat-2 L3A Land Ice Height V{release}",
            "time_start": _stamp(start),
            "time_end": _stamp(start + timedelta(minutes=4)),
            "updated": _stamp(start + timedelta(days=30)),
            "granule_size": "3.4951",
            "data_center": "NSIDC_CPRD",
            "original_format": "UMM_JSON",
            "online_access_flag": True,
            "browse_flag": False,
            "day_night_flag": "UNSPECIFIED",
            "links": [
                {
                    "rel": "http://esipfed.org/ns/fedsearch/1.1/data#",
                    "type": "application/x-hdf5",
                    "hreflang": "en-US",
                    "title": f"Download {name}",
                    "href": f"https://data.nsidc.earthdatacloud.nasa.gov/"
                    f"nsidc-cumulus-prod-protected/{path}",
                },
                {
                    "rel": "http://esipfed.org/ns/fedsearch/1.1/s3#",
                    "hreflang": "en-US",
                    "title": "This link provides direct download access via S3 to the granule",
                    "href": f"s3://nsidc-cumulus-prod-protected/{path}",
                },
            ],
        }

    def _granule_feed(self, request):
        query = parse_qs(urlsplit(request.url).query)
        concept = query.get("concept_id", [""])[0]
        known = concept in COLLECTIONS.values()
        entries = [self._granule_entry(n, concept) for n in self.granules] if known else []
        headers = {"Content-Type": "application/json;charset=utf-8", "CMR-Hits": str(len(entries))}
        if "CMR-Search-After" in request.headers:  # the page after the last one: empty
            entries = []
        elif entries:
            headers["CMR-Search-After"] = json.dumps([1.0, len(entries), "fake-after"])
        feed = {
            "feed": {
                "updated": _stamp(datetime.now(UTC)),
                "id": request.url,
                "title": "ECHO granule metadata",
                "entry": entries,
            }
        }
        return 200, headers, json.dumps(feed)

    # -- Earthdata Login --------------------------------------------------------------------
    def _basic_ok(self, request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return (user, password) == self.credentials

    def _token(self, request):
        self.token_requests.append(request.headers.get("Authorization", "")[:6])
        if not self._basic_ok(request):
            body = {"error": "invalid_credentials", "error_description": "Invalid user credentials"}
            return 401, {"Content-Type": "application/json"}, json.dumps(body)
        token = {
            "access_token": f"fake-token-{secrets.token_hex(8)}",
            "token_type": "Bearer",
            "expiration_date": "12/31/2099",
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(token)

    def _authorize(self, request):
        if not (self._basic_ok(request) and self.harmony_authorized):
            return 401, {"Content-Type": "text/html"}, "<html>Unauthorized</html>"
        code = secrets.token_hex(8)
        return 302, {"Location": f"{HARMONY}/oauth2/redirect?code={code}"}, ""

    def _harmony_cookie(self, request):
        cookie = f"token=fake-session-{secrets.token_hex(8)}; Path=/; Secure; HttpOnly"
        return 307, {"Location": f"{HARMONY}/jobs", "Set-Cookie": cookie}, ""

    # -- Harmony ------------------------------------------------------------------------------
    def _jobs_listing(self, request):
        if "token=" not in request.headers.get("Cookie", ""):
            back = quote(f"{HARMONY}/oauth2/redirect", safe="")
            location = (
                f"{URS}/oauth/authorize?client_id=fake-harmony-client"
                f"&response_type=code&redirect_uri={back}&state=fake"
            )
            return 303, {"Location": location}, ""
        body = {"count": 0, "jobs": [], "links": []}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _submit(self, request):
        form = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode() + request.body
        )
        fields: dict[str, list[str]] = {}
        for part in form.iter_parts():
            fields.setdefault(part.get_param("name", header="content-disposition"), []).append(
                part.get_content().strip()
            )
        self.orders.append({"url": request.url, "fields": fields})
        return 200, {"Content-Type": "application/json"}, json.dumps(self._job_document(0))

    def _labels(self, request):
        return 201, {"Content-Type": "application/json"}, json.dumps({"jobIDs": [self.job_id]})

    def _state(self, poll: int) -> str:
        return self.states[min(poll, len(self.states) - 1)]

    def _result_links(self) -> list[dict]:
        links = []
        for item, name in enumerate(sorted(self.outputs), start=129657017):
            links.append(
                {
                    "href": f"{HARMONY}/service-results/harmony-prod-staging/public/"
                    f"{self.job_id}/{item}/{name}",
                    "title": name,
                    "type": "application/x-hdf5",
                    "rel": "data",
                    "bbox": [-107.3, -75.2, -106.8, -74.4],
                    "temporal": {
                        "start": "2018-10-15T10:04:01.000Z",
                        "end": "2018-10-15T10:08:01.000Z",
                    },
                }
            )
        return links

    def _job_document(self, poll: int) -> dict:
        state = self._state(poll)
        now = datetime.now(UTC)
        done = state in ("successful", "complete_with_errors", "failed", "canceled")
        messages = {
            "successful": "The job has completed successfully",
            "paused": "The job is paused and may be resumed using the provided link",
            "previewing": "The job is generating a preview before auto-pausing",
            "failed": "The job failed with 1 error",
        }
        document = {
            "username": self.credentials[0],
            "status": state,
            "message": messages.get(state, "The job is being processed"),
            "progress": 100 if done else 20,
            "createdAt": _stamp(now - timedelta(minutes=2)),
            "updatedAt": _stamp(now),
            "dataExpiration": _stamp(now + timedelta(days=30)),
            "links": [
                {
                    "title": "STAC catalog",
                    "rel": "stac-catalog-json",
                    "href": f"{HARMONY}/stac/{self.job_id}/",
                    "type": "application/json",
                },
                *self._result_links(),
            ],
            "labels": ["icepyx"],
            "jobID": self.job_id,
            "request": f"{HARMONY}/{COLLECTIONS['007']}/ogc-api-coverages/1.0.0/collections/"
            "parameter_vars/coverage/rangeset?forceAsync=true",
            "numInputGranules": self.num_input_granules or len(self.granules),
        }
        if self.job_errors:
            document["errors"] = [
                {"url": "https://data.nsidc.earthdatacloud.nasa.gov/x.h5", "message": m}
                for m in self.job_errors
            ]
        return document

    def _job(self, request):
        self._polls += 1  # the submission answered with states[0]; each look moves one on
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(self._job_document(self._polls)),
        )

    def _batch_status(self, request):
        state = self._state(self._polls)
        done = state in ("successful", "complete_with_errors", "failed", "canceled", "paused")
        body = {
            "jobStatuses": [
                {"jobID": self.job_id, "status": state, "progress": 100 if done else 20}
            ],
            "notFoundJobIDs": [],
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    def _result(self, request):
        if "token=" not in request.headers.get("Cookie", ""):
            return 401, {"Content-Type": "text/html"}, "<html>Unauthorized</html>"
        name = urlsplit(request.url).path.rsplit("/", 1)[1]
        signed = (
            f"{STAGING}/public/{self.job_id}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires=3600&X-Amz-Signature={secrets.token_hex(16)}"
        )
        return 307, {"Location": signed}, ""

    def _staged(self, request):
        name = urlsplit(request.url).path.rsplit("/", 1)[1]
        if name not in self.outputs:
            return 404, {"Content-Type": "application/xml"}, "<Error><Code>NoSuchKey</Code></Error>"
        return 200, {"Content-Type": "application/x-hdf5"}, self.outputs[name]
