#!/usr/bin/env python3
"""Executes every notebook of this folder headless (as CI does), on the data folder given by
PARTERRE_DATA. Stops with the first failing cell's error. Installs Polars, nbclient and the
kernel into a virtual environment under ~/.cache/parterre-notebooks-venv."""
import os
import pathlib
import subprocess
import sys
import venv

VENV = pathlib.Path.home() / ".cache" / "parterre-notebooks-venv"
PACKAGES = ["polars>=1.10", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29"]

if os.environ.get("PARTERRE_NOTEBOOKS_VENV") != "1":
    py = VENV / "bin" / "python"
    if not py.exists():
        venv.create(VENV, with_pip=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    env = dict(os.environ, PARTERRE_NOTEBOOKS_VENV="1")
    sys.exit(subprocess.run([str(py), __file__, *sys.argv[1:]], env=env).returncode)

import nbformat
from nbclient import NotebookClient

here = pathlib.Path(__file__).resolve().parent
failed = False
for path in sorted(here.glob("*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(here)}})
    try:
        client.execute()
        print(f"ok      {path.name}")
    except Exception as e:  # the cell's traceback says what broke
        failed = True
        print(f"ÉCHEC   {path.name}\n{e}")
sys.exit(1 if failed else 0)
