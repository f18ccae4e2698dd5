"""The notebooks' plumbing: commands run with the kernel's environment, a quiet Dask shutdown,
and headless execution without the kernel's transport warning."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from helpers.notebook import close_cluster, command_line, run_command


def test_run_command_shows_the_command_its_output_and_status(capsys):
    done = run_command("python", "-c", "import sys; print('out'); sys.exit(3)")
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["$ python -c 'import sys; print('\"'\"'out'\"'\"'); sys.exit(3)'", "out",
                       "(exit status 3)"]  # fmt: skip
    assert done.returncode == 3 and done.stdout == "out\n"


def test_run_command_uses_the_kernels_python_and_passes_stderr_on(capsys):
    done = run_command("python", "-c", "import sys; print(sys.executable, file=sys.stderr)")
    assert done.stderr.strip() == sys.executable
    assert capsys.readouterr().err.strip() == sys.executable


def test_console_scripts_come_from_the_kernels_environment(capsys):
    done = run_command("readatl06", "-h")
    assert done.returncode == 0
    assert "usage:" in done.stdout and "--scheduler" in done.stdout
    assert capsys.readouterr().out.startswith("$ readatl06 -h\n")


def test_a_command_missing_from_the_environment_is_named():
    with pytest.raises(FileNotFoundError, match="no-such-tool-here is not installed"):
        command_line(["no-such-tool-here", "--help"])


def test_close_cluster_closes_the_client_and_the_cluster():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0")
    client = Client(cluster)
    assert client.submit(sum, [1, 2, 3]).result() == 6
    close_cluster(client, cluster)
    assert client.status == "closed"
    assert cluster.status.name == "closed"


def test_headless_execution_starts_kernels_without_the_transport_warning(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path

        import nbformat

        from helpers.devtools.tutorial import execute_notebook

        folder = Path(sys.argv[1])
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
        nbformat.write(nb, folder / "01-tiny.ipynb")
        execute_notebook(folder / "01-tiny.ipynb", folder / "out")
        done = nbformat.read(folder / "out" / "01-tiny.ipynb", as_version=4)
        print(done.cells[0].outputs[0]["text"], end="")
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "42\n"
    assert "without encryption" not in done.stderr
