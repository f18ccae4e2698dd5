"""What the scenario tests share: full or read-only disks (tmpfs), granules copied or altered,
and the processes a run leaves behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers.granules import BEAMS


def output_of(result) -> str:
    """stdout and stderr of a CompletedProcess, together."""
    return result.stdout + result.stderr


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "1m", read_only: bool = False):
    """Mount a small tmpfs on ``folder`` (a full disk on demand); skip where not permitted."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill_disk(folder: Path) -> None:
    """Fill the file system holding ``folder`` (leaves a few bytes at most)."""
    with open(folder / "ballast", "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


def linked_copies(granules: list[Path], folder: Path, count: int) -> list[Path]:
    """``count`` hard links to the granules under distinct, valid granule names (no copying)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(count):
        source = granules[i % len(granules)]
        clock = f"{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}"
        name = f"ATL06_20190101{clock}_{1 + i % 1387:04d}0310_006_01.h5"
        os.link(source, folder / name)
        made.append(folder / name)
    return made


def altered_copy(granule: Path, folder: Path, metres: float = 100.0) -> Path:
    """A copy of a granule, same name, with every h_li raised by ``metres`` (other content)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / granule.name
    shutil.copy(granule, copy)
    with h5py.File(copy, "r+") as f:
        for beam in BEAMS:
            if beam in f:
                h = f[f"{beam}/land_ice_segments/h_li"]
                valid = np.abs(h[()]) < 1e30
                h[valid] = h[()][valid] + np.float32(metres)
    return copy


def descendants(pid: int) -> list:
    """psutil processes below ``pid`` (empty once it is gone)."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(processes) -> list[int]:
    """Pids of those psutil processes that still run (zombies count as gone)."""
    import psutil

    running = []
    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                running.append(p.pid)
    return running


def kill_all(processes) -> None:
    """Kill what is left of a test's processes (never a test's outcome, only its clean-up)."""
    import psutil

    for p in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
