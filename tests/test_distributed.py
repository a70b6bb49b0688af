"""`adde train` on two processes (gloo on CPU, started by torchrun) through fastai's `distrib_ctx`: both ranks end
with the same weights, each file of the run folder is written by rank 0 only, the logged losses and metrics are
gathered over both ranks, and frozen backbone features are computed once in all, half of the images on each rank.
Each process records what it did through tests/distrib_driver.py."""
import json, subprocess, sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
import pytest

pytest.importorskip('accelerate', reason="training on several processes needs Accelerate (pip install accelerate)")
pytestmark = pytest.mark.xdist_group('distrib')
DRIVER = Path(__file__).parent/'distrib_driver.py'
FILES = {'config.json', 'metrics.json', 'model.safetensors'}

def launch(log, *args, nproc=2):
    "`adde ARGS` through the driver under torchrun with `nproc` processes; (stdout, each rank's record)"
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(nproc), '--',
                        str(DRIVER), str(log), *map(str, args)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"adde {' '.join(map(str, args))} failed on {nproc} processes:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout, [json.loads((log/f'rank{i}.json').read_text()) for i in range(nproc)]

@pytest.fixture(scope='module')
def two(tmp_path_factory):
    t = tmp_path_factory.mktemp('distrib')
    subprocess.run([sys.executable, '-c', 'from adde_nb.cli import main; main()', *map(str, ('data', 'synth', '--out', t/'data', '--n-items', 240,
                    '--seed', 7, '--size', 32, '--quiet', '--workers', 1))], check=True, capture_output=True)
    enc = launch(t/'log_enc', 'train', 'encoder', '--data', t/'data', '--out', t/'enc', '--backbone', 'resnet18', '--epochs', 2,
                 '--size', 32, '--d', 16, '--bs', 32, '--lr', 1e-3)
    manip = launch(t/'log_manip', 'train', 'manip', '--run', t/'enc', '--out', t/'manip', '--epochs', 2, '--freeze-backbone',
                   '--bs', 32, '--valid-queries', 50)
    return SimpleNamespace(root=t, enc=enc, manip=manip)

def written_once(ranks, epochs):
    "Rank 0 wrote the run's files, each as often as one process does; rank 1 wrote nothing"
    assert ranks[1]['writes'] == []
    n = Counter(Path(f).name for f in ranks[0]['writes'])
    assert n['config.json'] == n['model.safetensors'] == 1
    assert n['last.json'] == epochs and all(n[f'checkpoint_{e}.pth'] == 1 for e in range(epochs))
    return n

def test_encoder_two_ranks(two):
    out, (r0, r1) = two.enc
    assert r0['world'] == r1['world'] == 2
    assert r0['hash'] == r1['hash']                                      # DDP kept the two replicas equal, step after step
    assert written_once((r0, r1), 2)['metrics.json'] == 2 + 1             # each epoch's log, then the training time
    assert {p.name for p in (two.root/'enc').iterdir()} == FILES          # no checkpoint, temporary or duplicate left
    m = json.loads((two.root/'enc'/'metrics.json').read_text())
    assert [e['epoch'] for e in m['training']] == [0, 1] and m['train_seconds'] > 0
    assert out.count('run saved in') == 1                                 # printed by rank 0 only

def test_encoder_metrics_gathered(two):
    "Both ranks log the same numbers, over all the validation images, and each trained on half the training rows"
    import numpy as np
    from adde_nb.data import load_dataset
    from adde_nb.dataloaders import split_val
    _, (r0, r1) = two.enc
    assert r0['values'] == r1['values']
    data = load_dataset(two.root/'data')
    tr, va = split_val(len(data['train']), 0.1, 0)
    assert r0['attr_count'] == r1['attr_count'] == [float((data.indices('train')[va] >= 0).sum())]
    per_epoch = -(-len(tr)//2)//32                                        # a rank's share of the rows, in whole batches of 32
    assert per_epoch < len(tr)//32 and r0['iters'] == r1['iters'] == [per_epoch, 2*per_epoch]

def test_manip_frozen_two_ranks(two):
    "ADDE-M on a frozen backbone: its features computed once in all, half on each rank, and model selection on rank 0"
    from adde_nb.data import load_dataset
    out, (r0, r1) = two.manip
    n = len(load_dataset(two.root/'data')['train'])
    assert n % 2 == 1                                                     # the two shares differ: the padding is exercised
    assert sorted(r0['extracted'] + r1['extracted']) == [n//2, n - n//2]
    assert r0['features_diff'] < 1e-4 and r1['features_diff'] < 1e-4    # the gathered features are those of one process
    assert r0['trained_hash'] == r1['trained_hash'] and r0['hash'] == r1['hash']    # trained alike; the same epoch put back
    n_written = written_once((r0, r1), 2)
    assert n_written['metrics.json'] == 2 + 2 + 1                         # each epoch's log and selection, then the training time
    assert {p.name for p in (two.root/'manip').iterdir()} == FILES
    sel = json.loads((two.root/'manip'/'metrics.json').read_text())['selection']
    assert [e['epoch'] for e in sel['curve']] == [0, 1]
    assert out.count('run saved in') == 1
