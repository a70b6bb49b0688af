"""The `adde` command as a user runs it: the data commands, the whole train → eval → index → query → complete flow,
and a matrix of bad inputs, each checked for its one-line message, its exit code and that nothing else changed."""
import contextlib, io, json, os, pickle, shutil, signal, subprocess, sys, time
from pathlib import Path
from types import SimpleNamespace
import pytest
from conftest import adde, snapshot

from adde_nb.data import find_shared_data, LFS_HEADER

pytestmark = pytest.mark.xdist_group('cli')

def run(*args):
    "`adde ARGS` in this process: (exit code, stdout, stderr)"
    from adde_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: main([str(a) for a in args]); code = 0
        except SystemExit as e: code = e.code if isinstance(e.code, int) else 0
    return code, out.getvalue(), err.getvalue()

def refused(code, rc, *words, args=()):
    "Exit code `code` was `rc`, one line on stderr beginning 'adde: error:' containing every word"
    c, _, err = code
    lines = [l for l in err.splitlines() if l.strip()]
    assert c == rc, f"exit code {c}, expected {rc}: {err}"
    assert lines and lines[-1].startswith('adde: error:'), err
    assert 'Traceback' not in err, err
    for w in words: assert w in lines[-1], f"{w!r} not in {lines[-1]!r}"

@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp('synth')/'a'
    r = adde('data', 'synth', '--out', out, '--n-items', 300, '--seed', 7, '--quiet')
    assert 'items/s' in r.stdout
    n_test = len(json.loads((out/'polyvore'/'nondisjoint'/'test.json').read_text()))
    assert ('warning: no outfits in split(s) test' in r.stderr) == (n_test == 0)
    return out

def test_synth_is_deterministic(synth, tmp_path):
    assert run('data', 'synth', '--out', tmp_path/'b', '--n-items', 300, '--seed', 7, '--workers', 1, '--quiet')[0] == 0
    for fn in ['labels_train.txt', 'labels_test.txt', 'imgs_train.txt', 'triplet_train.txt', 'gt_test.txt', 'polyvore/nondisjoint/test.json']:
        assert (synth/fn).read_bytes() == (tmp_path/'b'/fn).read_bytes(), fn
    assert (synth/'images'/'000123.png').read_bytes() == (tmp_path/'b'/'images'/'000123.png').read_bytes()

def test_info_synthetic(synth):
    info = json.loads(run('data', 'info', synth, '--json')[1])
    assert info['format'] == 'adde' and info['n_types'] >= 8
    assert all(t['n_values'] >= 3 for t in info['types'].values())
    assert info['splits']['train'] + info['splits']['test'] == 300

def test_lfs_pointer_is_named(synth, tmp_path):
    bad = tmp_path/'lfs'; shutil.copytree(synth, bad, symlinks=True)
    (bad/'labels_train.txt').write_text(f"{LFS_HEADER}\noid sha256:{'0'*64}\nsize 24336972\n")
    refused(run('data', 'info', bad), 1, 'Git LFS', 'labels_train.txt:1')

def test_bad_label_line_is_located(synth, tmp_path):
    bad = tmp_path/'bad'; shutil.copytree(synth, bad, symlinks=True)
    lines = (bad/'labels_test.txt').read_text().splitlines()
    lines[4] = lines[4].rsplit(' ', 1)[0]
    (bad/'labels_test.txt').write_text('\n'.join(lines) + '\n')
    refused(run('data', 'info', bad), 1, 'labels_test.txt:5: expected 42')

@pytest.mark.parametrize('name,n', [('fashion-product-7k', 7035), ('clothing-attributes', 1856)])
def test_info_real(name, n):
    p = find_shared_data(name)
    if p is None: pytest.skip(f"../shared/data/{name} is not on this machine")
    info = json.loads(run('data', 'info', p, '--json', '--min-count', 20)[1])
    assert sum(info['splits'].values()) == n

def test_version_and_no_traceback():
    r = adde('--version')
    assert r.stdout.startswith('adde_nb ')
    r = adde('eval', 'manip', '--run', 'nowhere', check=False)          # a real subprocess: what a user sees
    assert r.returncode == 1 and r.stderr.strip() == 'adde: error: nowhere: not a run folder', r.stderr

# ---------------------------------------------------------------------------------------------------------------
# The whole flow, trained once for the tests below

@pytest.fixture(scope='module')
def flow(tmp_path_factory):
    t = tmp_path_factory.mktemp('flow')
    d, enc = t/'syn', t/'enc'
    for args in (('data', 'synth', '--out', d, '--n-items', 500, '--seed', 1, '--quiet', '--workers', 1),
                 ('train', 'encoder', '--data', d, '--out', enc, '--backbone', 'resnet18', '--epochs', 1, '--size', 32, '--d', 16, '--lr', 1e-3),
                 ('train', 'manip', '--run', enc, '--out', t/'m', '--epochs', 1, '--freeze-backbone', '--weights', 'mem=0'),
                 ('train', 'cond', '--init', enc, '--out', t/'c', '--epochs', 1, '--freeze-backbone'),
                 ('train', 'outfit', '--init', enc, '--out', t/'o', '--epochs', 1)):
        c, out, err = run(*args)
        assert c == 0, f"adde {args} failed: {err}"
    img = d/(d/'imgs_test.txt').read_text().split()[0]                     # an image of the gallery (the test split)
    return SimpleNamespace(root=t, data=d, enc=enc, manip=t/'m', cond=t/'c', outfit=t/'o', img=img)

def test_train_eval_query_complete(flow):
    assert {p.name for p in flow.enc.iterdir()} == {'config.json', 'model.safetensors', 'metrics.json'}
    c, out, _ = run('eval', 'encoder', '--run', flow.enc)
    assert c == 0 and 'attribute accuracy' in out and 'majority' in out
    assert 'attributes' in json.loads((flow.enc/'metrics.json').read_text())
    assert run('index', 'build', '--run', flow.enc, '--out', flow.root/'enc_store')[0] == 0
    assert (flow.root/'enc_store'/'store.json').exists() and (flow.root/'enc_store'/'shard_00000.npy').exists()
    assert json.loads((flow.manip/'config.json').read_text())['config']['w_mem'] == 0
    c, out, _ = run('eval', 'manip', '--run', flow.manip, '--k', '10,20')
    assert c == 0 and 'no manipulation' in out and 'attribute prediction' in out and 'ms/query' in out
    assert (flow.manip/'manip_rankings.npz').exists()
    c, out, _ = run('eval', 'manip', '--run', flow.manip, '--k', '10', '--protocol', 'strict')
    assert c == 0 and 'strict protocol' in out and (flow.manip/'manip_rankings_strict.npz').exists()
    c, out, _ = run('report', flow.manip, '--section', 'manipulation', '--keys', 'adde_m/top@*', '--digits', 3)
    top10 = json.loads((flow.manip/'metrics.json').read_text())['manipulation']['adde_m']['top@10']
    assert c == 0 and f'| all runs | {top10:.3f} ± – (1) |' in out and 'adde_m/top@20' in out, out
    c, _, err = run('report', flow.manip, '--section', 'manipulation', '--keys', 'top@99')
    assert c == 2 and '--keys top@99: no number' in err, err
    c, out, _ = run('eval', 'cond', '--run', flow.cond)
    assert c == 0 and 'full representation' in out
    c, out, _ = run('query', '--run', flow.cond, '--like', flow.img, '--condition', 'color', '--k', 5)
    ranked = [l for l in out.splitlines() if l[:4].strip().isdigit()]
    assert c == 0 and 'similar in color' in out and [int(l.split()[0]) for l in ranked] == [1, 2, 3, 4, 5], out
    from adde_nb.data import load_dataset
    test = load_dataset(flow.data)['test']; sch = load_dataset(flow.data).schema
    row = next(i for i in range(len(test)) if sch.describe(test.labels[i])['color'] is not None)
    cur = sch.describe(test.labels[row])['color']; new = next(v for v in sch['color'].values if v != cur)
    c, out, _ = run('query', '--run', flow.manip, '--like', test.ids[row], '--edit', f'color={new}', '--k', 5, '--json', '--show', flow.root/'q.png')
    res = json.loads(out)
    assert c == 0 and res['task'] == 'manipulate' and res['ask']['target']['color'] == new and len(res['hits']) == 5, out
    assert test.ids[row] not in [h['id'] for h in res['hits']] and (flow.root/'q.png').stat().st_size > 1000
    assert all(h['match'] == all(h['labels'][t] == v for t, v in res['ask']['target'].items()) for h in res['hits'])
    c, out, _ = run('export', '--run', flow.manip, '--out', flow.root/'exported')
    assert c == 0 and 'encoder.pt2' in out and (flow.root/'exported'/'MODEL_CARD.md').exists(), out
    card = (flow.root/'exported'/'MODEL_CARD.md').read_text()
    assert 'backbone resnet18 (the paper: ImageNet AlexNet)' in card and 'manipulation (paper protocol), adde_m: top@10' in card, card
    c, out2, _ = run('query', '--run', flow.root/'exported', '--like', test.ids[row], '--edit', f'color={new}', '--k', 5, '--json')
    assert c == 0 and json.loads(out2)['hits'] == res['hits']                       # the exported run answers as the run does
    mine = flow.root/'mine.png'; shutil.copy(flow.img, mine)                              # an image that is not a gallery file
    read = json.loads(run('query', '--run', flow.manip, '--like', mine, '--condition', 'color', '--k', 1, '--json')[1])['query']['predicted']
    new = next(v for v in sch['color'].values if v != read['color'][0])                 # an image's values are what the model reads
    c, out, _ = run('query', '--run', flow.manip, '--like', mine, '--edit', f'color={new}', '--k', 3)
    assert c == 0 and f"color: {read['color'][0]} → {new}" in out and 'read: ' in out, out
    c, out, _ = run('eval', 'outfit', '--run', flow.outfit)
    assert c == 0 and 'uniform_attention' in out
    c, out, _ = run('complete', '--run', flow.outfit, '--outfit', flow.data/'images'/'000001.png', flow.data/'images'/'000002.png',
                    '--category', 'bags', '--k', 2)
    assert c == 0 and 'best bags' in out

# ---------------------------------------------------------------------------------------------------------------
# Bad inputs: (arguments, exit code, words of the message); nothing in the run folders may change

def _cases(f):
    i1, i2 = f.data/'images'/'000001.png', f.data/'images'/'000002.png'
    return [
        (('train', 'encoder', '--data', f.data, '--out', f.enc), 2, ['holds a finished run', '--overwrite']),
        (('train', 'encoder', '--data', f.data, '--out', f.root/'x', '--val-frac', 1.5), 2, ['--val-frac: 1.5 is not a number between 0 and 1']),
        (('train', 'encoder', '--data', f.data, '--out', f.root/'x', '--bs', 0), 2, ['--bs: 0 is not a whole number of at least 1']),
        (('train', 'encoder', '--data', f.data, '--out', f.root/'x', '--backbone', 'vgg'), 2, ["invalid choice: 'vgg'"]),
        (('train', 'manip', '--run', f.enc, '--out', f.root/'x', '--n-changes', 99), 2, ['--n-changes 99', 'only 9 attribute types']),
        (('train', 'manip', '--run', f.enc, '--out', f.root/'x', '--weights', 'cls'), 2, ["--weights: 'cls' is not name=value"]),
        (('train', 'manip', '--run', f.enc, '--out', f.root/'x', '--weights', 'foo=1'), 2, ["no loss weight 'foo'"]),
        (('train', 'encoder', '--out', f.root/'x'), 2, ['--data is required']),
        (('eval', 'manip', '--run', f.manip, '--k', 0), 2, ["'0' must be at least 1"]),
        (('eval', 'manip', '--run', f.manip, '--k', '10,abc'), 2, ["'abc' is not a whole number"]),
        (('eval', 'manip', '--run', f.manip, '--k', 100000), 2, ['--k 100000', 'at most']),
        (('eval', 'manip', '--run', f.manip, '--n-changes', 99), 2, ['--n-changes 99']),
        (('eval', 'manip', '--run', f.manip, '--protocol', 'reference'), 2, ["invalid choice: 'reference'", "'paper', 'strict'"]),
        (('report', f.manip, f.enc, '--section', 'attributes'), 2, ['runs of several kinds (encoder, manip)']),
        (('eval', 'manip', '--run', f.enc), 2, ['is an encoder run; this needs a manip run']),
        (('eval', 'outfit', '--run', f.manip), 2, ['is a manip run; this needs an outfit run']),
        (('eval', 'cond', '--run', f.cond, '--k', 100000), 2, ['--k 100000']),
        (('query', '--run', f.cond, '--like', f.img, '--condition', 'color', '--k', -3), 2, ["'-3' must be at least 1"]),
        (('query', '--run', f.cond, '--like', f.img, '--condition', 'colour'), 2, ["'colour' is not an attribute type", 'valid types']),
        (('query', '--run', f.cond, '--like', f.img, '--condition', 'color', '--k', 100000), 2, ['k=100000', 'between 1 and']),
        (('query', '--run', f.cond, '--like', f.img, '--edit', 'color=red'), 2, ['needs an ADDE-M run']),
        (('query', '--run', f.manip, '--like', f.img, '--edit', 'color=chartreuse'), 2, ["'chartreuse' is not a value of 'color'", 'valid values']),
        (('query', '--run', f.manip, '--like', f.img, '--edit', 'colour=red'), 2, ["'colour' is not an attribute type"]),
        (('query', '--run', f.manip, '--like', f.img, '--edit', 'color'), 2, ["'color' is not of the form type=value"]),
        (('query', '--run', f.manip, '--like', f.img), 2, ['one of the arguments --edit --condition is required']),
        (('query', '--run', f.manip, '--like', f.root/'missing.png', '--edit', 'color=red'), 1, ['missing.png']),
        (('query', '--run', f.cond, '--like', f.root/'missing.png', '--condition', 'color'), 1, ['missing.png']),
        (('complete', '--run', f.outfit, '--outfit', i1, i2, '--category', 'shoes', '--k', -2), 2, ["'-2' must be at least 1"]),
        (('complete', '--run', f.outfit, '--outfit', i1, i2, '--category', 'shoes', '--categories', 'tops'), 2, ['1 given for 2 outfit items']),
        (('complete', '--run', f.outfit, '--outfit', i1, '--category', 'boots'), 2, ["unknown category 'boots'"]),
        (('complete', '--run', f.cond, '--outfit', i1, '--category', 'shoes'), 2, ['needs an ADDE-O run']),
        (('data', 'synth', '--out', f.data, '--n-items', 10), 2, ['--overwrite']),
        (('export', '--run', f.manip, '--out', f.manip), 2, ['must not be the run folder itself']),
        (('export', '--run', f.manip, '--out', f.enc), 2, ['not empty', '--overwrite']),
        (('data', 'synth', '--out', f.img, '--n-items', 10), 2, ['is a file']),
        (('bench', 'index', '--sizes', '1000,x'), 2, ["'x' is not a whole number"]),
        (('train', 'encoder', '--data', f.data, '--out', f.root/'x', '--lr', 'inf'), 2, ['--lr: inf is not a finite number above 0']),
        (('train', 'encoder', '--data', f.data, '--out', f.root/'x', '--types', 'color'), 2, ['--types: not an option of the adde format']),
        (('train', 'encoder', '--data', f.data, '--out', f.data, '--overwrite'), 2, ['holds no run']),
        (('train', 'cond', '--init', f.enc, '--out', f.enc, '--overwrite'), 2, ['cannot be written over what it reads']),
        (('train', 'cond', '--init', f.enc, '--out', f.root/'x', '--size', 128), 2, ['--size 128: the --init run', 'has 32']),
        (('data', 'info', f.data, '--types', 'color'), 2, ['--types: not an option of the adde format']),
        (('query', '--run', f.cond, '--like', f.img, '--condition', 'color', '--split', 'valid'), 2, ["invalid choice: 'valid'"]),
    ]

def test_bad_inputs(flow):
    before = snapshot(flow.root)
    for args, rc, words in _cases(flow):
        refused(run(*args), rc, *words, args=args)
    assert snapshot(flow.root) == before, "a refused command changed files"
    assert not (flow.root/'x').exists()

def test_resume_on_finished_run_does_nothing(flow):
    before = snapshot(flow.enc)
    c, out, _ = run('train', 'encoder', '--data', flow.data, '--out', flow.enc, '--backbone', 'resnet18', '--epochs', 1, '--size', 32,
                    '--d', 16, '--lr', 1e-3, '--resume')
    assert c == 0 and 'nothing to resume' in out
    assert snapshot(flow.enc) == before

def test_data_of_another_schema_is_refused(flow, tmp_path):
    other = tmp_path/'other'; shutil.copytree(flow.data, other, symlinks=True)
    lines = (other/'attr_num.txt').read_text().split()
    schema = json.loads((other/'attributes.json').read_text())
    schema['types'][1]['values'][0] = 'noir'                                  # same sizes, another value name
    (other/'attributes.json').write_text(json.dumps(schema))
    before = snapshot(flow.enc)
    refused(run('eval', 'encoder', '--run', flow.enc, '--data', other), 2, 'attribute schema', 'is not the one run')
    assert snapshot(flow.enc) == before

def _broken(src, tmp_path, name, content):
    run_dir = tmp_path/name.replace('.', '_'); shutil.copytree(src, run_dir)
    (run_dir/name).write_bytes(content)
    return run_dir

@pytest.mark.parametrize('name,content,words', [
    ('model.safetensors', b'', ['model.safetensors: not a safetensors model file']),
    ('model.safetensors', b'\x89PNG\r\n\x1a\n' + b'\0'*64, ['model.safetensors: not a safetensors model file']),
    ('metrics.json', b'{"training": [', ['metrics.json: not valid JSON']),
    ('config.json', b'\x80\x04K\x01.', ['config.json: not valid JSON']),
    ('config.json', b'{"config": {}, "kind": "encoder"}', ["config.json: not a run config (no 'schema')"]),
])
def test_broken_run_files(flow, tmp_path, name, content, words):
    run_dir = _broken(flow.enc, tmp_path, name, content)
    refused(run('eval', 'encoder', '--run', run_dir), 1, *words)

def test_truncated_model(flow, tmp_path):
    good = (flow.enc/'model.safetensors').read_bytes()
    run_dir = _broken(flow.enc, tmp_path, 'model.safetensors', good[:len(good)//2])
    refused(run('eval', 'encoder', '--run', run_dir), 1, 'model.safetensors: not a safetensors model file')

# ---------------------------------------------------------------------------------------------------------------
# Run folders never go stale, never mix two runs, and resume bit for bit

def _first_hit(flow, run_dir, data=None):
    c, out, err = run('query', '--run', run_dir, '--like', flow.img, '--condition', 'color', '--k', 1, '--keep-query', *(['--data', data] if data else []))
    assert c == 0, err
    line = next(l for l in out.splitlines() if 'd=' in l)                   # rank, ✓ or ·, id, distance, path
    return line.split()[2], float(line.split('d=')[1].split()[0])

def test_stale_index_is_rebuilt(flow, tmp_path):
    run_dir = tmp_path/'cond'; shutil.copytree(flow.cond, run_dir)
    _first_hit(flow, run_dir)                                               # builds and saves the index
    saved = {f.name: f.read_bytes() for f in run_dir.glob('index_test.*')}
    enc2 = tmp_path/'enc2'
    assert run('train', 'encoder', '--data', flow.data, '--out', enc2, '--backbone', 'resnet18', '--epochs', 1, '--size', 32,
               '--d', 16, '--lr', 1e-3, '--seed', 5)[0] == 0
    c, _, err = run('train', 'cond', '--init', enc2, '--out', run_dir, '--epochs', 1, '--freeze-backbone', '--overwrite')
    assert c == 0, err
    for name, b in saved.items(): (run_dir/name).write_bytes(b)            # the old model's index, as a retrained run would keep it
    c, out, err = run('query', '--run', run_dir, '--like', flow.img, '--condition', 'color', '--k', 1)
    assert c == 0 and 'index_test was built from another model: rebuilding it' in out, out + err
    hit, dist = _first_hit(flow, run_dir)                                   # the query image is in the gallery: it finds itself
    assert hit == flow.img.stem and dist < 1e-6, (hit, dist)

def test_index_of_other_data(flow, tmp_path):
    other = tmp_path/'other'
    assert run('data', 'synth', '--out', other, '--n-items', 200, '--seed', 3, '--quiet', '--workers', 1)[0] == 0
    run_dir = tmp_path/'cond'; shutil.copytree(flow.cond, run_dir)
    _first_hit(flow, run_dir)
    img = other/(other/'imgs_test.txt').read_text().split()[0]
    c, out, err = run('query', '--run', run_dir, '--like', img, '--condition', 'color', '--k', 1, '--data', other, '--keep-query')
    assert c == 0, err
    line = next(l for l in out.splitlines() if 'd=' in l)
    assert line.split()[2] == img.stem and float(line.split('d=')[1].split()[0]) < 1e-6, line

def _train_args(flow, out, epochs, *extra):
    return ('train', 'encoder', '--data', flow.data, '--out', out, '--backbone', 'resnet18', '--epochs', epochs, '--size', 32,
            '--d', 16, '--lr', 1e-3, *extra)

def _kill_when(args, ready, timeout=600):
    "Start `adde ARGS` in a subprocess and kill it (SIGKILL) as soon as `ready()` is true"
    p = subprocess.Popen([sys.executable, '-c', 'from adde_nb.cli import main; main()', *map(str, args)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not ready():
        assert p.poll() is None, "the run ended before it could be interrupted"
        assert time.time() - t0 < timeout
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL); p.wait()

def test_interrupted_overwrite_leaves_no_old_model(flow, tmp_path):
    run_dir = tmp_path/'enc'; shutil.copytree(flow.enc, run_dir)
    def started():
        cfg = run_dir/'config.json'
        return cfg.exists() and json.loads(cfg.read_text())['config']['seed'] == 9
    _kill_when(_train_args(flow, run_dir, 50, '--seed', 9, '--overwrite'), started)
    assert not (run_dir/'model.safetensors').exists()
    refused(run('eval', 'encoder', '--run', run_dir), 1, 'model.safetensors: not found: the run has not finished')
    refused(run(*_train_args(flow, run_dir, 50, '--seed', 9)), 2, 'holds an unfinished run', '--resume')
    refused(run(*_train_args(flow, run_dir, 50, '--seed', 8, '--resume')), 2, '--resume: the options differ', '--seed 8 (was 9)')

def test_resume_refuses_changed_data(flow, tmp_path):
    from PIL import Image
    data = tmp_path/'data'; shutil.copytree(flow.data, data, symlinks=True)
    run_dir = tmp_path/'enc'
    _kill_when(_train_args(SimpleNamespace(data=data), run_dir, 50), lambda: (run_dir/'last.json').exists())   # one epoch done
    img = data/(data/'imgs_train.txt').read_text().split()[0]
    Image.new('RGB', (40, 40), (255, 0, 0)).save(img)                      # one training image drawn again
    refused(run(*_train_args(SimpleNamespace(data=data), run_dir, 50, '--resume')), 2, '--resume: the data changed since')

def test_resume_is_bit_identical(flow, tmp_path):
    assert run(*_train_args(flow, tmp_path/'straight', 3))[0] == 0
    killed = tmp_path/'killed'
    def one_epoch():
        lj = killed/'last.json'
        try: return lj.exists() and json.loads(lj.read_text())['epoch'] >= 0
        except ValueError: return False
    _kill_when(_train_args(flow, killed, 3), one_epoch)
    assert not (killed/'model.safetensors').exists()
    c, out, err = run(*_train_args(flow, killed, 3, '--resume'))
    assert c == 0 and 'resuming' in out, err
    assert (killed/'model.safetensors').read_bytes() == (tmp_path/'straight'/'model.safetensors').read_bytes()
    log = lambda p: [{k: v for k, v in e.items()} for e in json.loads((p/'metrics.json').read_text())['training']]
    assert log(killed) == log(tmp_path/'straight')

# ---------------------------------------------------------------------------------------------------------------
# No file of a run folder can run code

class Payload:
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f"touch {self.marker}",))

def test_crafted_pickles_never_run(flow, tmp_path):
    marker = tmp_path/'PWNED'
    evil = pickle.dumps(Payload(marker))
    i1 = flow.data/'images'/'000001.png'
    def copy(src, name, i):
        d = tmp_path/f"{i}-{Path(src).name}-{name.replace('.', '_')}"
        shutil.copytree(src, d); return d
    # build the files a run folder can hold first, so every one is there to be replaced
    assert run('query', '--run', flow.cond, '--like', flow.img, '--condition', 'color')[0] == 0      # writes index_test.*
    assert run('index', 'build', '--run', flow.cond)[0] == 0                                           # writes store_test/
    assert run('eval', 'manip', '--run', flow.manip, '--k', 10)[0] == 0
    own = tmp_path/'data-without-triplets'                                  # a dataset whose cond triplets the run folder keeps
    shutil.copytree(flow.data, own, symlinks=True)
    for f in own.glob('cond_triplets_*.txt'): f.unlink()
    assert run('eval', 'cond', '--run', flow.cond, '--data', own)[0] == 0
    enc_int = tmp_path/'enc-interrupted'
    _kill_when(_train_args(flow, enc_int, 50), lambda: (enc_int/'last.json').exists())
    ckpt = json.loads((enc_int/'last.json').read_text())['checkpoint']
    cases = [(flow.enc, 'model.safetensors', ('eval', 'encoder', '--run', '{run}')),
             (flow.enc, 'config.json', ('eval', 'encoder', '--run', '{run}')),
             (flow.enc, 'metrics.json', ('eval', 'encoder', '--run', '{run}')),
             (flow.enc, 'model.safetensors', ('train', 'cond', '--init', '{run}', '--out', tmp_path/'newcond', '--epochs', 1, '--freeze-backbone')),
             (flow.cond, 'index_test.npy', ('query', '--run', '{run}', '--like', flow.img, '--condition', 'color')),
             (flow.cond, 'index_test.json', ('query', '--run', '{run}', '--like', flow.img, '--condition', 'color')),
             (flow.cond, 'store_test/shard_00000.npy', ('query', '--run', '{run}', '--like', flow.img, '--condition', 'color', '--index', '{run}/store_test')),
             (flow.cond, 'store_test/store.json', ('query', '--run', '{run}', '--like', flow.img, '--condition', 'color', '--index', '{run}/store_test')),
             (flow.cond, 'cond_triplets_test.json', ('eval', 'cond', '--run', '{run}', '--data', own)),
             (flow.cond, 'cond_triplets_test.txt', ('eval', 'cond', '--run', '{run}', '--data', own)),
             (flow.manip, 'manip_rankings.npz', ('eval', 'manip', '--run', '{run}', '--k', 10)),
             (flow.outfit, 'model.safetensors', ('complete', '--run', '{run}', '--outfit', i1, '--category', 'shoes')),
             (enc_int, ckpt, ('train', 'encoder', '--data', flow.data, '--out', '{run}', '--backbone', 'resnet18', '--epochs', 50,
                              '--size', 32, '--d', 16, '--lr', 1e-3, '--resume')),
             (enc_int, 'last.json', ('train', 'encoder', '--data', flow.data, '--out', '{run}', '--backbone', 'resnet18', '--epochs', 50,
                                     '--size', 32, '--d', 16, '--lr', 1e-3, '--resume'))]
    for i, (src, name, args) in enumerate(cases):
        d = copy(src, name, i)
        assert (d/name).exists(), f"{name} is not a file a {src.name} run folder holds"
        (d/name).write_bytes(evil)
        c, _, err = run(*[str(a).replace('{run}', str(d)) for a in args])
        assert not marker.exists(), f"the payload in {name} ran ({args[0]})"
        if c != 0: assert err.strip().startswith('adde: error:') and 'Traceback' not in err, err
        assert c != 0 or name in ('manip_rankings.npz', 'index_test.npy', 'index_test.json', 'cond_triplets_test.json'), (name, err)
        if name == 'manip_rankings.npz':                                   # the CLI rewrites it; what reads it is the library
            (d/name).write_bytes(evil)
            from adde_nb.manipulation import ranking_hits
            with pytest.raises(Exception, match='manip_rankings.npz: not an array file'): ranking_hits(d)
    assert not marker.exists()

def test_index_store_ann_and_bench(flow, tmp_path):
    from adde_nb.data import load_dataset
    ds = load_dataset(flow.data); test, sch = ds['test'], ds.schema
    st = tmp_path/'st'
    c, out, err = run('index', 'build', '--run', flow.manip, '--out', st, '--kind', 'ivf', '--nlist', 8, '--shard-rows', 40)
    assert c == 0 and 'feature store' in out and 'float16' in out and 'nprobe' in out and 'kept' in out, (out, err)
    assert {'store.json', 'shard_00000.npy', 'shard_00000.norms.npy', 'ann_ivf.faiss', 'ann_ivf.json'} <= {p.name for p in st.iterdir()}
    info = json.loads((st/'ann_ivf.json').read_text())
    assert info['recall']['table'][-1]['nprobe'] == 8 and info['recall']['table'][-1]['recall@50'] == 1.0   # every list probed
    row = next(i for i in range(len(test)) if sch.describe(test.labels[i])['color'] is not None)
    new = next(v for v in sch['color'].values if v != sch.describe(test.labels[row])['color'])
    ask = ('query', '--run', flow.manip, '--like', test.ids[row], '--edit', f'color={new}', '--k', 5, '--json')
    mem = [h['id'] for h in json.loads(run(*ask)[1])['hits']]
    for kind in ('exact', 'ivf'):                                   # the store on disk answers as the features in memory
        c, out, err = run(*ask, '--index', st, '--kind', kind, '--nprobe', 8)
        assert c == 0 and [h['id'] for h in json.loads(out)['hits']] == mem, (kind, out, err)
    c, out, err = run('index', 'build', '--run', flow.manip, '--out', st, '--kind', 'ivf', '--nlist', 8, '--shard-rows', 40)   # the same store: reused
    assert c == 0, err
    (tmp_path/'l.txt').write_text(f"{flow.img}\n\nnope.png\n")
    refused(run('index', 'build', '--run', flow.manip, '--list', tmp_path/'l.txt', '--out', tmp_path/'x'), 1, "l.txt: line 3: no image file 'nope.png'")
    refused(run('index', 'build', '--run', flow.manip, '--out', st, '--shard-rows', 30), 2, 'holds another feature store (its shard_rows differ)')
    refused(run(*ask, '--kind', 'ivf'), 2, 'pass its folder (--index')
    assert run('index', 'build', '--run', flow.enc, '--out', tmp_path/'es')[0] == 0                 # the encoder run's store of the same items
    refused(run(*ask, '--index', tmp_path/'es'), 1, 'was built with another model')
    c, out, err = run('bench', 'index', '--sizes', 600, '--kinds', 'exact,ivf', '--queries', 16, '--n-sub', 2, '--md', tmp_path/'b.md')
    assert c == 0 and '| 600 × 680 | exact |' in out and '| 600 × 680 | ivf |' in out and (tmp_path/'b.md').exists(), (out, err)
