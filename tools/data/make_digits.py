#!/usr/bin/env python3
"""Build libs/strata-data/samples/digits.parquet from scikit-learn's digits.csv.gz.

The CSV ships inside the scikit-learn wheel (sklearn/datasets/data/digits.csv.gz), so the wheel is
downloaded from PyPI with `pip download --no-deps` into .cache/wheels and read as a zip; nothing
of scikit-learn is installed or committed. pyarrow comes from a small venv under .cache/.

    python3 tools/data/make_digits.py          # writes the Parquet file and prints its sha256
"""
import csv
import gzip
import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
SKLEARN = "scikit-learn==1.9.1"
OUT = ROOT / "libs/strata-data/samples/digits.parquet"


def venv_python() -> Path:
    venv = CACHE / "venv-data"
    py = venv / "bin/python"
    if not (venv / ".complete").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", "pyarrow==26.0.1"], check=True)
        (venv / ".complete").touch()
    return py


def sklearn_wheel() -> Path:
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob("scikit_learn-1.9.1-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", str(wheels), SKLEARN], check=True)
        found = sorted(wheels.glob("scikit_learn-1.9.1-*.whl"))
    return found[0]


def main() -> None:
    if os.environ.get("STRATA_IN_VENV") != "1":
        py = venv_python()
        env = dict(os.environ, STRATA_IN_VENV="1")
        sys.exit(subprocess.run([str(py), __file__], env=env).returncode)

    import pyarrow as pa
    import pyarrow.parquet as pq

    whl = sklearn_wheel()
    with zipfile.ZipFile(whl) as z:
        raw = gzip.decompress(z.read("sklearn/datasets/data/digits.csv.gz"))
    rows = [r for r in csv.reader(io.StringIO(raw.decode())) if r]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows), "unexpected digits.csv layout"

    columns = {}
    for k in range(64):
        columns[f"pixel_{k // 8}_{k % 8}"] = pa.array([float(r[k]) for r in rows], pa.float32())
    columns["label"] = pa.array([int(float(r[64])) for r in rows], pa.int64())
    table = pa.table(columns)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, OUT, compression="snappy", row_group_size=512)
    print(f"wrote {OUT.relative_to(ROOT)} rows={table.num_rows} from {whl.name}")
    print("sha256", hashlib.sha256(OUT.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
