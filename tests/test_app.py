"""The web app as a person and a program meet it: `adde serve` in its own process answering pages and JSON (and going on
after bad requests), and a tour of every page in a real browser (the system's Chromium, driven by Playwright)."""
import io, json, os, signal, socket, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT

pytestmark = pytest.mark.xdist_group('app')

@pytest.fixture(scope='module')
def app_runs(tmp_path_factory):
    "A tiny ADDE-M and ADDE-O run on the cached tiny encoder, in one folder (as the demo lays them out)"
    from adde_nb.pretraining import tiny_encoder
    from adde_nb.runs import load_config, load_data, ManipConfig, OutfitConfig
    from adde_nb.manipulation import train_manip
    from adde_nb.outfit import train_outfit
    t = tmp_path_factory.mktemp('app')
    _, enc = tiny_encoder(); data = load_data(load_config(enc)[0])
    train_manip(ManipConfig(out=str(t/'manip'), init=str(enc), epochs=2, bs=64, lr=1e-3, lr2=5e-4, margin_every=1, freeze_backbone=True), data)
    train_outfit(OutfitConfig(out=str(t/'outfit'), init=str(enc), epochs=2, bs=32, lr=1e-3), data)
    return t, data

def _get(url):
    "(status, JSON body) of a GET"
    try:
        with urllib.request.urlopen(url, timeout=60) as r: return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read())

def test_adde_serve_answers_and_survives_bad_requests(app_runs):
    t, data = app_runs
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, '-c', 'from adde_nb.cli import main; main()', 'serve', '--run', str(t), '--port', str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try: urllib.request.urlopen(url + '/api/items', timeout=1); break
            except OSError: time.sleep(0.1)
        else: pytest.fail("adde serve did not start")
        labels = data.schema.describe(data['test'].labels[0])
        new = next(v for v in data.schema['color'].values if v != labels['color'])
        for bad, status, words in ((f'/api/manipulate?q=0&color=chartreuse', 400, 'valid values'),
                                   (f"/api/manipulate?q=0&color={labels['color']}", 400, 'already has'),
                                   (f'/api/manipulate?q=0&color={new}&k=0', 400, 'k=0'),
                                   (f'/api/similar?q=0&condition=colour', 400, 'not an attribute type'),
                                   ('/api/complete?items=0&category=boots', 400, "unknown category 'boots'")):
            code, body = _get(url + bad)
            assert code == status and words in body['error'], (bad, code, body)
        code, body = _get(url + f'/api/manipulate?q=0&color={new}&k=5')
        assert code == 200 and len(body['hits']) == 5 and body['ask']['target']['color'] == new, body
        assert _get(url + '/api/complete?items=0&category=shoes&k=3')[0] == 200
    finally:
        p.send_signal(signal.SIGINT); out = p.communicate(timeout=30)[0]
    assert 'open http://127.0.0.1:' in out, out

def test_browser_tour(app_runs):
    """Open the gallery, pick an item, set its colour to another value, submit: results with a green match; the same for
    "similar in pattern" and outfit completion, and an uploaded image. Screenshots go to _docs/screenshots/."""
    from adde_nb.app import chromium_path, tour_runs
    from adde_nb.search import Runs
    pytest.importorskip('playwright', reason="the playwright package is not installed (pip install playwright)")
    if chromium_path() is None: pytest.skip("no system Chromium (Debian: apt-get install chromium; make test installs it where it can)")
    t, data = app_runs
    runs = Runs(t)
    m, o = runs.for_task('manipulate'), runs.for_task('complete')
    tr = tour_runs(runs, ROOT/'_docs'/'screenshots')        # picks an item, an edit and an outfit whose answers hold a green match
    seen, item = tr['seen'], tr['item']
    assert seen['manipulate'] == (10, m.manipulate(item, tr['edit'], 10).n_match) and seen['manipulate'][1] > 0, seen
    assert seen['similar'] == (10, m.similar(item, 'pattern', 10).n_match) and seen['similar'][1] > 0, seen
    done = o.complete(tr['outfit'], tr['category'], 10)
    assert seen['outfit'] == (len(done.hits), done.n_match), seen
    assert seen['outfit'][1] > 0 and seen['upload'][0] == 10, seen
    for name in ('gallery', 'item', 'manipulate', 'similar', 'outfit', 'upload'):
        assert (ROOT/'_docs'/'screenshots'/f'{name}.png').stat().st_size > 5000, name
