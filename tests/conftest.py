import hashlib, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault('MPLBACKEND', 'Agg')

def adde(*args, check=True, timeout=900):
    "Run the `adde` command as a user does (a subprocess); returns the CompletedProcess"
    r = subprocess.run([sys.executable, '-c', 'from adde_nb.cli import main; main()', *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode: raise AssertionError(f"adde {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r

def snapshot(*folders) -> dict:
    "path → SHA-256 of every file below `folders` (to check that a refused command changed nothing)"
    out = {}
    for f in folders:
        for p in sorted(Path(f).rglob('*')):
            if p.is_file(): out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
