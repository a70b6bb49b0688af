"""The `adde` command as a user runs it (a subprocess per call)."""
import json, subprocess, sys
import pytest

from adde_nb.data import find_shared_data, LFS_HEADER

def adde(*args, check=True):
    r = subprocess.run([sys.executable, '-c', 'from adde_nb.cli import main; main()', *map(str, args)], capture_output=True, text=True)
    if check and r.returncode: raise AssertionError(f"adde {' '.join(map(str, args))} failed:\n{r.stdout}\n{r.stderr}")
    return r

@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')/'a'
    r = adde('data', 'synth', '--out', out, '--n-items', 300, '--seed', 7, '--quiet')
    assert 'items/s' in r.stdout
    n_test = len(json.loads((out/'polyvore'/'nondisjoint'/'test.json').read_text()))
    assert ('warning: no outfits in split(s) test' in r.stderr) == (n_test == 0)
    return out

def test_synth_is_deterministic(synth, tmp_path):
    adde('data', 'synth', '--out', tmp_path/'b', '--n-items', 300, '--seed', 7, '--workers', 1, '--quiet')
    for fn in ['labels_train.txt', 'labels_test.txt', 'imgs_train.txt', 'triplet_train.txt', 'gt_test.txt', 'polyvore/nondisjoint/test.json']:
        assert (synth/fn).read_bytes() == (tmp_path/'b'/fn).read_bytes(), fn
    assert (synth/'images'/'000123.png').read_bytes() == (tmp_path/'b'/'images'/'000123.png').read_bytes()

def test_info_synthetic(synth):
    info = json.loads(adde('data', 'info', synth, '--json').stdout)
    assert info['format'] == 'adde' and info['n_types'] >= 8
    assert all(t['n_values'] >= 3 for t in info['types'].values())
    assert info['splits']['train'] + info['splits']['test'] == 300

def test_lfs_pointer_is_named(synth, tmp_path):
    import shutil
    bad = tmp_path/'lfs'; shutil.copytree(synth, bad, symlinks=True)
    (bad/'labels_train.txt').write_text(f"{LFS_HEADER}\noid sha256:{'0'*64}\nsize 24336972\n")
    r = adde('data', 'info', bad, check=False)
    assert r.returncode == 2 and 'Git LFS' in r.stderr and 'labels_train.txt:1' in r.stderr

def test_bad_label_line_is_located(synth, tmp_path):
    import shutil
    bad = tmp_path/'bad'; shutil.copytree(synth, bad, symlinks=True)
    lines = (bad/'labels_test.txt').read_text().splitlines()
    lines[4] = lines[4].rsplit(' ', 1)[0]
    (bad/'labels_test.txt').write_text('\n'.join(lines) + '\n')
    r = adde('data', 'info', bad, check=False)
    assert r.returncode == 2 and 'labels_test.txt:5: expected 42' in r.stderr

@pytest.mark.parametrize('name,n', [('fashion-product-7k', 7035), ('clothing-attributes', 1856)])
def test_info_real(name, n):
    p = find_shared_data(name)
    if p is None: pytest.skip(f"../shared/data/{name} is not on this machine")
    info = json.loads(adde('data', 'info', p, '--json', '--min-count', 20).stdout)
    assert sum(info['splits'].values()) == n

@pytest.mark.xdist_group('cli-flow')
def test_train_eval_query_complete(tmp_path):
    d, enc = tmp_path/'syn', tmp_path/'enc'
    adde('data', 'synth', '--out', d, '--n-items', 500, '--seed', 1, '--quiet', '--workers', 1)
    adde('train', 'encoder', '--data', d, '--out', enc, '--backbone', 'resnet18', '--epochs', 1, '--size', 32, '--d', 16, '--lr', 1e-3)
    assert {'config.json', 'model.pth', 'metrics.json'} <= {p.name for p in enc.iterdir()}
    out = adde('eval', 'encoder', '--run', enc).stdout
    assert 'attribute accuracy' in out and 'majority' in out
    assert 'attributes' in json.loads((enc/'metrics.json').read_text())
    adde('index', 'build', '--run', enc)
    assert (enc/'index_test.pt').exists()
    adde('train', 'manip', '--run', enc, '--out', tmp_path/'m', '--epochs', 1, '--freeze-backbone', '--weights', 'mem=0')
    assert json.loads((tmp_path/'m'/'config.json').read_text())['config']['w_mem'] == 0
    out = adde('eval', 'manip', '--run', tmp_path/'m', '--k', '10,20').stdout
    assert 'no_manipulation' in out and 'attribute_prediction' in out and 'ms/query' in out
    assert (tmp_path/'m'/'manip_rankings.npz').exists()
    adde('train', 'cond', '--init', enc, '--out', tmp_path/'c', '--epochs', 1, '--freeze-backbone')
    assert 'full representation' in adde('eval', 'cond', '--run', tmp_path/'c').stdout
    img = d/'images'/'000003.png'
    out = adde('query', '--run', tmp_path/'c', '--like', img, '--condition', 'color', '--k', 5).stdout
    assert len([l for l in out.splitlines() if 'color=' in l]) == 5
    adde('train', 'outfit', '--init', enc, '--out', tmp_path/'o', '--epochs', 1)
    assert 'uniform_attention' in adde('eval', 'outfit', '--run', tmp_path/'o').stdout
    out = adde('complete', '--run', tmp_path/'o', '--outfit', d/'images'/'000001.png', d/'images'/'000002.png', '--category', 'bags', '--k', 2).stdout
    assert 'best bags' in out
    r = adde('query', '--run', tmp_path/'c', '--like', img, '--condition', 'colour', check=False)
    assert r.returncode == 2 and 'valid types' in r.stderr
