"""Plumbing for the notebooks: terminal commands run from a kernel, a quiet Dask shutdown.

Nothing here is what a notebook teaches; it keeps the cells short and their output readable.

- :func:`run_command` runs a command as you would type it in a terminal, but with the
  kernel's own environment (``!readatl06`` in a notebook goes through the Jupyter server's
  ``PATH``, which on many hubs is another environment), and shows the command, its output
  and its exit status.
- :func:`close_cluster` closes a Dask client and its cluster without the long, harmless
  tracebacks that workers may log when the scheduler goes away first.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from pathlib import Path


def command_line(args: list[str]) -> list[str]:
    """The argument list that starts ``args`` with the kernel's environment.

    ``python`` becomes this interpreter (``sys.executable``); any other command is taken
    from the folder that holds it, where the environment's console scripts live.

    Parameters
    ----------
    args : list of str
        The command as typed, e.g. ``["readatl06", "-h"]``.

    Returns
    -------
    list of str
        Arguments for :func:`subprocess.run`.

    Raises
    ------
    FileNotFoundError
        If the command is not installed in the kernel's environment.

    Examples
    --------
    >>> command_line(["python", "-V"])[0] == sys.executable
    True
    """
    name, rest = args[0], args[1:]
    if name == "python":
        return [sys.executable, *rest]
    folder = Path(sys.executable).parent
    for candidate in (folder / name, folder / f"{name}.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate), *rest]
    raise FileNotFoundError(
        f"{name} is not installed in this kernel's environment ({folder}): "
        "run `pip install -e .` in the repository with this environment active"
    )


def run_command(*args: object) -> subprocess.CompletedProcess:
    """Run a terminal command with the kernel's environment; show it, its output and status.

    Prints ``$ <command as typed>``, then what the command printed (its standard error
    goes to ``sys.stderr``), then its exit status.

    Parameters
    ----------
    *args : object
        The command and its arguments (paths and numbers are turned into text), e.g.
        ``run_command("readatl06", folder, "-o", outdir, "-n", 2)``.

    Returns
    -------
    subprocess.CompletedProcess
        With ``returncode``, ``stdout`` and ``stderr`` (text).

    Examples
    --------
    >>> done = run_command("python", "-c", "print(6 * 7)")
    $ python -c 'print(6 * 7)'
    42
    (exit status 0)
    >>> done.returncode
    0
    """
    typed = [str(a) for a in args]
    print("$", shlex.join(typed))
    done = subprocess.run(command_line(typed), capture_output=True, text=True, check=False)
    print(done.stdout, end="")
    if done.stderr:
        print(done.stderr, end="", file=sys.stderr)
    print(f"(exit status {done.returncode})")
    return done


def _quiet_distributed_logs() -> None:
    """Only critical messages from the ``distributed`` loggers of the current process."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


def close_cluster(client, cluster) -> None:
    """Close a Dask client, then its cluster (scheduler and workers), quietly.

    Shutting down is a small race: a worker may send its regular heartbeat just as the
    scheduler goes away, and then logs a long, harmless traceback. Each worker's logging
    is its own (a level set in the kernel does not reach it), so it is turned down on
    every worker with ``client.run`` before closing.

    Parameters
    ----------
    client : distributed.Client
        A connected client.
    cluster : distributed.deploy.Cluster
        The cluster it is connected to, e.g. a ``LocalCluster``.

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster
    >>> cluster = LocalCluster(n_workers=1, dashboard_address=":0")  # doctest: +SKIP
    >>> close_cluster(Client(cluster), cluster)  # doctest: +SKIP
    """
    client.run(_quiet_distributed_logs)
    client.close()
    cluster.close()
