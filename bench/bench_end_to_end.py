"""Measure the reducer end to end: many full-size granules over an emulated in-region link,
2 worker processes, outputs written to an S3 server.

What a cloud run does, on this machine:

1. **Granules.** A few distinct full-size synthetic granules (default 8, about 1 M segments
   and 45 MB each, made once with ``python -m helpers.sample --full`` into
   ``build/bench/full<D>``, as ``bench_reduce.py`` does) are exposed under N different names
   (default 100): hard links in a temporary folder (copies where the file system refuses
   links), each name a valid granule name of the same track, region and cycle as its source,
   only its time changed.
2. **The link.** A ``helpers.rangeserver`` process serves that folder over HTTP with Range
   requests, waiting ``--latency-ms`` (default 5 ms) before each answer and sending at most
   ``--connection-mbps`` (default 100 MB/s) on each connection: about what a worker inside
   the data's cloud region gets from the object store. Its counters give the bytes and
   requests.
3. **The store.** moto's S3 server (``python -m moto.server``, a real HTTP server in its own
   process) holds the bucket; the reducer finds it through ``AWS_ENDPOINT_URL_S3`` and dummy
   credentials, never through the machine's AWS configuration.
4. **The run.** ``python -m helpers.reduce URL... -o s3://bench/reduced -n 2 -q`` (whole
   granules unless ``--bbox``), timed from start to exit (interpreter start-up, joblib's
   worker start-up and every write included).
5. **Checks.** The command succeeded, its report says every granule done and none skipped
   or failed, with as many segments read as the inputs hold; the range server found every
   file it was asked for; the bucket holds exactly one record per granule name, and every
   output a record lists, with its size.

It prints a Markdown table (granules, wall time, granules per minute, segments read and kept,
segments per second for the machine and per worker, MB transferred and their share of the
files' size, requests, peak memory per worker, CPU seconds) and writes the figures, with the
machine's description, the parameters and the date, to ``bench/results/end_to_end.json``
(``--json``), which notebook 6 reads for its continent estimate.

**Peak memory per worker** is each worker process's own high-water mark, ``VmHWM`` of
``/proc/PID/status`` (the kernel's peak RSS of that process since its exec, so shared library
pages count in full in each worker), read every ``--interval`` seconds (default 0.2) while it
lives: the kernel keeps the peak, so sampling misses only what grows in a worker's last
interval. CPU seconds are psutil's user + system time of each process, as last sampled.

On a 2-CPU machine the range server and the S3 server share the CPUs with the two workers;
their CPU seconds are reported apart, so that their share can be judged.

Run it with ``make bench`` or::

    .venv/bin/python bench/bench_end_to_end.py [--granules N] [--distinct D] [--jobs J]
        [--latency-ms MS] [--connection-mbps MBPS] [--bbox W S E N] [--json FILE | --no-json]

100 whole granules take about 2 minutes on 2 CPUs (plus ~30 s to make 8 granules the first
time); ``--granules 8`` is a quick check (use ``--no-json`` to keep the committed figures).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import h5py
import psutil
from bench_reduce import ensure_granules
from common import (
    BUILD,
    MB,
    REPO,
    Server,
    TreePeak,
    load_average,
    log,
    machine,
    print_table,
    range_server,
)

from helpers.estimate import END_TO_END_RESULTS
from helpers.granules import BEAMS

#: Where the figures go by default (committed: notebook 6 reads them).
RESULTS = END_TO_END_RESULTS  # notebook 6 reads it through helpers.estimate
#: The bucket and prefix the outputs go to.
BUCKET, PREFIX = "bench", "reduced"
#: A granule name: ATL06_<yyyymmddhhmmss>_<rest>.
GRANULE_NAME = re.compile(r"^(ATL06_)(\d{14})(_.+\.h5)$")
PACKAGES = ("numpy", "h5py", "isal", "pyproj", "joblib", "boto3", "moto")


# --------------------------------------------------------------------------- inputs


def copy_name(source: str, k: int) -> str:
    """The name of copy ``k`` of a granule: its time ``k`` seconds later, all else kept.

    Examples
    --------
    >>> copy_name("ATL06_20181016093827_02710110_006_01.h5", 40)
    'ATL06_20181016093907_02710110_006_01.h5'
    """
    match = GRANULE_NAME.match(source)
    if match is None:
        raise SystemExit(f"error: {source} is not named like an ATL06 granule")
    when = dt.datetime.strptime(match[2], "%Y%m%d%H%M%S") + dt.timedelta(seconds=k)
    return f"{match[1]}{when:%Y%m%d%H%M%S}{match[3]}"


def expose(files: list[Path], folder: Path, count: int) -> list[tuple[Path, Path]]:
    """``count`` differently named links to the granules (in turn) in ``folder``.

    Returns
    -------
    list of (Path, Path)
        ``(source, link)`` pairs; a link is a copy where the file system refuses hard links.
    """
    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in range(count):
        source = files[i % len(files)]
        link = folder / copy_name(source.name, i // len(files))
        try:
            os.link(source, link)
        except OSError:  # another file system: copy
            shutil.copyfile(source, link)
        pairs.append((source, link))
    return pairs


def segments_in(path: Path) -> int:
    """Segments of a granule: the sizes of ``h_li`` over its beams."""
    with h5py.File(path, "r") as f:
        return sum(f[b]["land_ice_segments/h_li"].size for b in BEAMS if b in f)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """A port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def s3_server(scratch: Path) -> Iterator[Server]:
    """moto's S3 server in its own process (its spooled objects under ``scratch``), with the
    bucket :data:`BUCKET` made."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "TMPDIR": str(scratch)}
    process = subprocess.Popen(command, cwd=scratch, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("error: moto's S3 server did not start") from None
                time.sleep(0.2)
        s3_client(url).create_bucket(Bucket=BUCKET)
        yield Server(url, process)
    finally:
        process.terminate()
        process.wait()


def s3_client(endpoint: str):
    """A boto3 client of the S3 server, for the benchmark's own checks."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench")  # fmt: skip


def s3_environment(endpoint: str, scratch: Path) -> dict[str, str]:
    """This environment, pointed at the S3 server with dummy credentials and none of the
    machine's own AWS configuration."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL")}  # fmt: skip
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_S3=endpoint,
               AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"))  # fmt: skip
    return env


# --------------------------------------------------------------------------- the run


@dataclass
class ProcessPeak:
    """What was last seen of one process of the reducer's tree."""

    role: str
    hwm_mb: float = 0.0
    cpu_s: float = 0.0


class TreeWatch(TreePeak):
    """:class:`~common.TreePeak`'s sampling of a process tree, keeping each process's own
    ``VmHWM`` and CPU seconds (``seen``) instead of the summed RSS."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(pid, interval)
        self.seen: dict[int, ProcessPeak] = {}

    def sample(self) -> float:
        """Read every live process of the tree once; return the largest ``VmHWM`` so far."""
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            procs = []
        for proc in procs:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                hwm = int(re.search(r"^VmHWM:\s+(\d+)", status, re.M)[1]) * 1024 / MB
                times = proc.cpu_times()
                if proc.pid not in self.seen:
                    self.seen[proc.pid] = ProcessPeak(_role(proc, self.root.pid))
            except (psutil.Error, OSError, TypeError):  # ended meanwhile
                continue
            peak = self.seen[proc.pid]
            peak.hwm_mb = max(peak.hwm_mb, hwm)
            peak.cpu_s = max(peak.cpu_s, times.user + times.system)
        return max((peak.hwm_mb for peak in self.seen.values()), default=0.0)


def _role(proc: psutil.Process, root: int) -> str:
    """``reducer`` (the command), ``worker`` (a loky worker) or ``other`` (loky's tracker)."""
    if proc.pid == root:
        return "reducer"
    command = " ".join(proc.cmdline())
    if "resource_tracker" in command or "semaphore_tracker" in command:
        return "other"
    return "worker" if "loky" in command.lower() else "other"


def run_reducer(urls: list[str], env: dict[str, str], args: argparse.Namespace) -> dict:
    """Run the reducer's command on the URLs, timed and watched; its report and peaks."""
    command = [sys.executable, "-m", "helpers.reduce", *urls, "-o", f"s3://{BUCKET}/{PREFIX}",
               "-n", str(args.jobs), "-q"]  # fmt: skip
    if args.bbox:
        command += ["-b", *map(str, args.bbox)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    watch = TreeWatch(process.pid, args.interval).start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    watch.stop()
    if process.returncode != 0:
        sys.stderr.write(stdout + stderr)
        raise SystemExit(f"error: the reducer exited with status {process.returncode}")
    return {"seconds": seconds, "stdout": stdout, "stderr": stderr, "peaks": watch.seen}


def parse_report(stdout: str, n: int) -> tuple[int, int]:
    """Segments read and kept from the reducer's report; exits unless all n are done."""
    counts = re.search(r"(\d+) granules: (\d+) done, (\d+) skipped .*?, (\d+) failed", stdout)
    points = re.search(r"([\d,]+) points read, ([\d,]+) kept", stdout)
    if counts is None or points is None:
        raise SystemExit(f"error: no report in the reducer's output:\n{stdout}")
    total, done, skipped, failed = map(int, counts.groups())
    if (total, done, skipped, failed) != (n, n, 0, 0):
        raise SystemExit(f"error: wanted {n} granules done, got: {counts[0]}")
    return int(points[1].replace(",", "")), int(points[2].replace(",", ""))


def check_bucket(endpoint: str, links: list[Path]) -> dict:
    """Check the bucket: one record per granule name, nothing else recorded, every listed
    output present with its recorded size. Returns counts and sizes."""
    s3 = s3_client(endpoint)
    stored: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/"):
        stored.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    records = {k for k in stored if k.startswith(f"{PREFIX}/.reduced/") and k.endswith(".json")}
    wanted = {f"{PREFIX}/.reduced/{p.stem}.json" for p in links}
    if records != wanted:
        raise SystemExit(f"error: records missing {sorted(wanted - records)[:3]}, "
                         f"unexpected {sorted(records - wanted)[:3]}")  # fmt: skip
    outputs = kept = 0
    for key in sorted(records):
        record = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        kept += record["points_kept"]
        for name, made in record["output_files"].items():
            if stored.get(f"{PREFIX}/{name}") != made["size"]:
                raise SystemExit(f"error: {name} of {key} missing or of another size")
            outputs += 1
    output_mb = sum(v for k, v in stored.items() if k not in records) / MB
    return {"records": len(records), "outputs": outputs, "kept": kept, "output_mb": output_mb}


# --------------------------------------------------------------------------- report


def figures_of(run: dict, sent: dict, file_bytes: int, segments: int, kept: int,
               bucket: dict, servers_cpu: dict[str, float], n: int, jobs: int) -> dict:  # fmt: skip
    """The run's figures, as written to the JSON and printed."""
    peaks = run["peaks"].values()
    workers = sorted((p.hwm_mb for p in peaks if p.role == "worker"), reverse=True)
    seconds = run["seconds"]
    return {
        "wall_s": seconds,
        "granules": n,
        "granules_per_minute": n / seconds * 60,
        "segments_read": segments,
        "segments_kept": kept,
        "segments_per_second": segments / seconds,
        "segments_per_second_per_worker": segments / seconds / jobs,
        "bytes_transferred": sent["bytes"],
        "file_bytes": file_bytes,
        "transferred_fraction": sent["bytes"] / file_bytes,
        "bytes_per_segment": sent["bytes"] / segments,
        "requests": sent["requests"],
        "heads": sent["heads"],
        "not_found": sent["not_found"],
        "outputs": bucket["outputs"],
        "output_mb": bucket["output_mb"],
        "worker_processes": len(workers),
        "peak_rss_per_worker_mb": workers,
        "peak_rss_worker_max_mb": workers[0] if workers else None,
        "peak_rss_reducer_mb": max((p.hwm_mb for p in peaks if p.role == "reducer"), default=0),
        "cpu_s_reducer_tree": sum(p.cpu_s for p in peaks),
        "cpu_s_range_server": servers_cpu["range"],
        "cpu_s_s3_server": servers_cpu["s3"],
    }


def print_report(result: dict) -> None:
    """Print the machine, the parameters, the table and how each figure was taken."""
    p, f = result["parameters"], result["figures"]
    what = f"box {p['bbox']}" if p["bbox"] else "whole granules"
    print(f"\n## End to end: {f['granules']} full-size granules ({p['distinct']} distinct), "
          f"{what}, {p['jobs']} worker processes, outputs to S3\n")  # fmt: skip
    print(f"{result['machine']}.")
    print(f"Link: {p['latency_ms']:g} ms before each answer, {p['connection_mbps']:g} MB/s per "
          f"connection" + (f", {p['mbps']:g} MB/s shared" if p["mbps"] else "")
          + "; range server and moto S3 server on this machine, each in its own process. "
          f"Load before: {result['load_before']}.\n")  # fmt: skip
    worker = f"{f['peak_rss_worker_max_mb']:,.0f}" if f["peak_rss_worker_max_mb"] else "-"
    print_table(
        ["granules", "wall s", "granules/min", "segments read", "segments/s", "per worker",
         "MB sent", "of files", "requests", "peak RSS / worker MB", "CPU s"],
        [[f"{f['granules']}", f"{f['wall_s']:.1f}", f"{f['granules_per_minute']:.1f}",
          f"{f['segments_read']:,}", f"{f['segments_per_second']:,.0f}",
          f"{f['segments_per_second_per_worker']:,.0f}", f"{f['bytes_transferred'] / MB:,.0f}",
          f"{f['transferred_fraction']:.1%}", f"{f['requests'] + f['heads']:,}", worker,
          f"{f['cpu_s_reducer_tree']:.0f}"]],
        "rrrrrrrrrrr",
    )  # fmt: skip
    print(f"\nKept {f['segments_kept']:,} segments in {f['outputs']} outputs "
          f"({f['output_mb']:,.0f} MB in the bucket); every granule done once, one record "
          f"each, every output listed in a record present with its size.")  # fmt: skip
    print(f"Requests: {f['requests']:,} GET + {f['heads']:,} HEAD "
          f"({(f['requests'] + f['heads']) / f['granules']:.1f} per granule); "
          f"{f['bytes_per_segment']:.1f} bytes sent per segment read.")  # fmt: skip
    print(f"Peak RSS of each worker process (VmHWM, sampled every {p['interval_s']:g} s): "
          f"{', '.join(f'{m:,.0f}' for m in f['peak_rss_per_worker_mb'])} MB; the reducer's "
          f"own process {f['peak_rss_reducer_mb']:,.0f} MB.")  # fmt: skip
    print(f"CPU s (user + sys): reducer and its workers {f['cpu_s_reducer_tree']:.1f}, range "
          f"server {f['cpu_s_range_server']:.1f}, S3 server {f['cpu_s_s3_server']:.1f} "
          f"(all on the same {os.cpu_count()} CPUs).")  # fmt: skip
    print(f"Wall time from the command's start to its exit (Python start-up, worker start-up "
          f"and every upload included): {f['wall_s']:.1f} s.")  # fmt: skip


def measure(args: argparse.Namespace, scratch: Path) -> dict:
    """Make the inputs, start both servers, run the reducer, check and collect."""
    data = (args.data or BUILD / f"full{args.distinct}").resolve()
    files = ensure_granules(data, args.distinct)
    pairs = expose(files, scratch / "granules", args.granules)
    links = [link for _, link in pairs]
    per_source = {p: segments_in(p) for p in files}
    file_bytes = sum(link.stat().st_size for link in links)
    log(f"{len(links)} granule names for {len(files)} granules, {file_bytes / MB:,.0f} MB")
    (scratch / "s3").mkdir()
    with range_server(scratch / "granules", args.latency_ms, args.mbps, args.connection_mbps
                      ) as granules, s3_server(scratch / "s3") as store:  # fmt: skip
        urls = [f"{granules.url}/{quote(link.name)}" for link in links]
        before, load = granules.stats(), load_average()
        log(f"reducing {len(urls)} URLs with {args.jobs} workers into s3://{BUCKET}/{PREFIX}")
        run = run_reducer(urls, s3_environment(store.url, scratch), args)
        after = granules.stats()
        servers_cpu = {"range": granules.cpu_s(), "s3": store.cpu_s()}
        log(f"  done in {run['seconds']:.1f} s; checking the bucket")
        bucket = check_bucket(store.url, links)
    segments, kept = parse_report(run["stdout"], len(links))
    expected = sum(per_source[source] for source, _ in pairs)
    if segments != expected or kept != bucket["kept"]:
        raise SystemExit(f"error: {segments:,} segments read (inputs hold {expected:,}), "
                         f"{kept:,} kept (records: {bucket['kept']:,})")  # fmt: skip
    sent = {k: after[k] - before[k] for k in after}
    if sent["not_found"]:
        raise SystemExit(f"error: the range server answered {sent['not_found']} requests 404")
    parameters = {"granules": args.granules, "distinct": len(files), "jobs": args.jobs,
                  "latency_ms": args.latency_ms, "connection_mbps": args.connection_mbps,
                  "mbps": args.mbps, "bbox": args.bbox, "interval_s": args.interval,
                  "granule_mb": file_bytes / len(links) / MB}  # fmt: skip
    figures = figures_of(run, sent, file_bytes, segments, kept, bucket, servers_cpu,
                         len(links), args.jobs)  # fmt: skip
    return {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": machine(PACKAGES), "load_before": load,
            "command": " ".join(["bench/bench_end_to_end.py", *map(_shown_arg, args.argv)]),
            "parameters": parameters, "figures": figures}  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Reduce N full-size synthetic granules (D distinct ones under N names) "
        "served by a helpers.rangeserver over an emulated in-region link, with J worker "
        "processes writing to a local S3 server (moto); print granules per minute, bytes "
        "transferred, peak memory per worker and segments per second as a Markdown table, "
        "and write them to a JSON file (notebook 6 reads the committed one).",
    )
    add = parser.add_argument
    add("--granules", type=int, default=100, metavar="N",
        help="granule names to reduce (default 100)")  # fmt: skip
    add("--distinct", type=int, default=8, metavar="D",
        help="distinct granules behind them (default 8, cached in build/bench/full<D>)")
    add("--data", type=Path, default=None, metavar="DIR",
        help="granule cache folder (default build/bench/full<D>); generated if needed")
    add("--jobs", type=int, default=2, metavar="J", help="worker processes (default 2)")
    add("--latency-ms", type=float, default=5.0, metavar="MS",
        help="wait before each answer, an emulated round trip (default 5)")  # fmt: skip
    add("--connection-mbps", type=float, default=100.0, metavar="MBPS",
        help="MB/s of each connection (default 100; 0: unlimited)")  # fmt: skip
    add("--mbps", type=float, default=0.0, metavar="MBPS",
        help="MB/s shared by all connections (default 0: unlimited)")  # fmt: skip
    add("--bbox", type=float, nargs=4, default=None, metavar=("W", "S", "E", "N"),
        help="reduce to this box (default: whole granules)")  # fmt: skip
    add("--interval", type=float, default=0.2, metavar="S",
        help="seconds between two samples of the workers' peak RSS and CPU (default 0.2)")
    add("--json", type=Path, default=RESULTS, metavar="FILE",
        help="where to write the figures (default bench/results/end_to_end.json, committed)")
    add("--no-json", action="store_true", help="write no JSON (quick checks)")
    add("--keep", action="store_true",
        help="keep the temporary folder (links; the bucket lives in the server's memory)")
    return parser


def _shown_arg(arg: str) -> str:
    """An argument as the committed figures keep it: a path outside the repository (a
    granule cache elsewhere) by its name only and one inside it relative to it, so no
    machine's folders are recorded."""
    path = Path(arg)
    if not path.is_absolute():
        return arg
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else f".../{path.name}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.granules < 1 or args.distinct < 1 or args.jobs < 1:
        raise SystemExit("error: --granules, --distinct and --jobs must be at least 1")
    BUILD.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="end-to-end-", dir=BUILD))
    try:
        result = measure(args, scratch)
    finally:
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print_report(result)
    if not args.no_json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        where = args.json.resolve()
        shown = where.relative_to(REPO) if where.is_relative_to(REPO) else where
        print(f"\nFigures written to {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
