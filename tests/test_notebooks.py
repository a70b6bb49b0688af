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

BAD = {'█': 'a progress-bar glyph', 'Warning': 'a warning', '/tmp/': 'a temporary path', '/work/': 'a path of this machine',
       '/home/': 'a home path', '/root/': 'a home path', 'Traceback': 'a traceback'}

def _texts(o):
    if 'text' in o: yield ''.join(o['text'])
    for k, v in o.get('data', {}).items():
        if k.startswith('text/'): yield ''.join(v) if isinstance(v, list) else str(v)

def test_saved_outputs_are_clean():
    "Committed outputs carry no progress bars, warnings, tracebacks, stderr or paths of the machine they ran on"
    import json
    bad = []
    for nb in NBS:
        for i, c in enumerate(json.loads(nb.read_text())['cells']):
            for o in c.get('outputs', []):
                if o.get('name') == 'stderr': bad.append(f"{nb.name} cell {i}: output on stderr"); continue
                for t in _texts(o):
                    bad += [f"{nb.name} cell {i}: {why}" for pat, why in BAD.items() if pat in t]
    assert not bad, '\n'.join(bad)

def test_no_dataset_photos_committed():
    "Cells that show a real dataset's photos (marked with `PHOTO_MARK`) are committed without outputs: the data may be read, not copied"
    import json
    from adde_nb.docs import PHOTO_MARK
    bad = [f"{nb.name} cell {c.get('id', i)}" for nb in NBS for i, c in enumerate(json.loads(nb.read_text())['cells'])
           if c['cell_type'] == 'code' and PHOTO_MARK in ''.join(c['source']) and c.get('outputs')]
    assert not bad, "photo outputs of a real dataset are saved in " + ', '.join(bad) + ": run adde_nb.docs.drop_photo_outputs() (`make study` does it after saving)"
