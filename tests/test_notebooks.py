"""Every notebook in nbs/ as one pytest test, run the way `nbdev-test` runs it (same function, same flags)."""
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook   # renamed so pytest does not collect it

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))

@pytest.mark.parametrize('nb', NBS, ids=[p.name for p in NBS])
def test_notebook(nb, monkeypatch):
    cfg = get_config(ROOT)
    flags = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags)
    monkeypatch.chdir(nb.parent)
    ok, secs = run_notebook(nb, skip_flags=flags, basepath=str(ROOT))
    assert ok, f"{nb.name} failed (its traceback is printed above)"
