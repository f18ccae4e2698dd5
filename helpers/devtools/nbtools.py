"""Keep the notebooks clean: ``python -m helpers.devtools.nbtools strip notebooks/*.ipynb``.

Notebooks are stored without outputs, except the small text outputs of cells marked
``# NBVAL_CHECK_OUTPUT``, which the tests compare (nbval). ``--outputs-from DIR`` takes
those outputs from executed copies (``make tutorial`` writes them to build/tutorial/).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

#: Marker of cells whose output nbval compares with the stored one.
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"
#: Largest stored output per checked cell (characters): checked outputs stay small.
MAX_CHECKED_OUTPUT = 2000


def is_checked(cell) -> bool:
    """True for code cells whose output is compared by the tests."""
    source = cell.get("source", "")
    if isinstance(source, list):  # raw JSON stores source as a list of lines
        source = "".join(source)
    return cell.get("cell_type") == "code" and CHECK_MARKER in source


def _text_only(outputs: list) -> list:
    """Keep plain-text stream and result outputs; drop images, HTML, widgets, errors."""
    kept = []
    for out in outputs:
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            kept.append({"output_type": "stream", "name": "stdout", "text": out["text"]})
        elif out.get("output_type") == "execute_result" and "text/plain" in out.get("data", {}):
            text = out["data"]["text/plain"]
            kept.append({"output_type": "execute_result", "execution_count": None,
                         "metadata": {}, "data": {"text/plain": text}})  # fmt: skip
    return kept


def strip(path: Path, outputs_from: Path | None = None) -> None:
    """Strip a notebook in place (keeping checked outputs, taken from an executed copy)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    executed = None
    if outputs_from is not None and (outputs_from / path.name).is_file():
        executed = nbformat.read(outputs_from / path.name, as_version=4)
    for index, cell in enumerate(nb.cells):
        cell.get("metadata", {}).pop("execution", None)
        if cell.cell_type != "code":
            continue
        # nbval refuses a checked cell whose stored execution count is empty.
        cell.execution_count = 1 if is_checked(cell) else None
        if is_checked(cell):
            if executed is not None:
                source = executed.cells[index]
                if source.get("source") != cell.source:
                    raise ValueError(f"{path.name}: cell {index} differs from the executed copy")
                cell.outputs = nbformat.from_dict(_text_only(source.get("outputs", [])))
            else:
                cell.outputs = nbformat.from_dict(_text_only(cell.outputs))
        else:
            cell.outputs = []
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m helpers.devtools.nbtools", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("strip", help="strip outputs, keeping those of checked cells")
    cmd.add_argument("notebooks", nargs="+", type=Path)
    cmd.add_argument("--outputs-from", type=Path,
                     help="folder of executed copies to take checked outputs from")  # fmt: skip
    args = parser.parse_args(argv)
    for path in args.notebooks:
        strip(path, args.outputs_from)
        print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
