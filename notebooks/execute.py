"""Execute notebooks in place, saving their outputs: python notebooks/execute.py [NOTEBOOK ...]"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

paths = [Path(p) for p in sys.argv[1:]] or sorted(Path(__file__).parent.glob("*.ipynb"))
for path in paths:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)
    print(f"executed {path}")
