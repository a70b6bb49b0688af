"""`adde ARGS...` as one process of a launch (or alone), recording what this process did in LOG/rank<RANK>.json.

    python -m torch.distributed.run --standalone --nproc_per_node 2 -- tests/distrib_driver.py LOG train encoder ...

The record: the world size, a SHA-256 of the final weights (and of the weights before `SelectBest.restore`),
every file written through `atomic_write` (the one way run files are written), the rows each call of
`index.extract` sent through a backbone, the Learner's last logged values and batch counts, the labelled pairs
`AttrAccuracy` counted, and how far the backbone features a frozen run trained on are from those extracted again
in one call.
Used by tests/test_distributed.py; nothing in adde_nb knows about it.
"""
import hashlib, json, os, sys
from pathlib import Path
import torch
import adde_nb.data, adde_nb.index, adde_nb.runs
import adde_nb.pretraining, adde_nb.manipulation, adde_nb.conditional, adde_nb.outfit   # the trainers, imported before patching
from adde_nb.cli import main
from adde_nb.encoder import AttrAccuracy

log, argv = Path(sys.argv[1]), sys.argv[2:]
rank = int(os.environ.get('RANK', 0))
rec = dict(rank=rank, writes=[], extracted=[])

def patch_all(name, new):
    "Replace `name` in every adde_nb module that imported the same object"
    old = getattr(adde_nb.runs, name)
    for m in [m for n, m in list(sys.modules.items()) if n.startswith('adde_nb')]:
        if getattr(m, name, None) is old: setattr(m, name, new)
    return old

_write = patch_all('atomic_write', lambda fn, write: (rec['writes'].append(str(fn)), _write(fn, write))[1])
_extract = patch_all('extract', lambda fn, data, split, size, *a, rows=None, **kw:
                     (rec['extracted'].append(len(data[split]) if rows is None else len(rows)), _extract(fn, data, split, size, *a, rows=rows, **kw))[1])

def weights_hash(model) -> str:
    h = hashlib.sha256()
    for k, v in model.state_dict().items(): h.update(k.encode()); h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()

_restore = adde_nb.runs.SelectBest.restore
def restore(self):
    rec['trained_hash'] = weights_hash(self.learn.model)           # the last epoch's weights, before the selected epoch's replace them
    return _restore(self)
adde_nb.runs.SelectBest.restore = restore

_train_run = adde_nb.runs.train_run
def train_run(cfg, data, *args, **kwargs):
    learn = _train_run(cfg, data, *args, **kwargs)
    rec.update(world=torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1, hash=weights_hash(learn.model),
               values=[float(v) for v in learn.recorder.values[-1]], iters=list(learn.recorder.iters),
               attr_count=[float(m.count.sum()) for m in learn.metrics if isinstance(m, AttrAccuracy)])
    if cfg.freeze_backbone:
        enc = adde_nb.runs.encoder_of(learn.model)
        cached = adde_nb.index.backbone_features(enc.backbone, data, 'train', cfg.size)     # what training read, from the cache
        rec['features_diff'] = float((cached - _extract(enc.backbone, data, 'train', cfg.size, progress=False)).abs().max())
    return learn
patch_all('train_run', train_run)

try: main(argv)
finally:
    log.mkdir(parents=True, exist_ok=True)
    (log/f'rank{rank}.json').write_text(json.dumps(rec))
