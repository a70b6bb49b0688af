"""The main job, as the tests run it: the `tiny` demo preset (run once per package version, shared with the demo notebook),
its report, and the manipulation metrics recomputed from the saved rankings (every metric for ADDE-M, top@k for its
baselines) by an implementation independent of adde_nb.metrics. That the same seed gives the same numbers is checked
where each stage is defined: the synthetic data (05_synth, tests/test_cli.py), each training (10-13: two trainings, equal
weights), resuming (09_runs, tests/test_cli.py), and re-evaluating a finished demo (30_demo: equal tables)."""
import json, math, re
import numpy as np
import pytest

pytestmark = pytest.mark.xdist_group('demo')

@pytest.fixture(scope='module')
def demo():
    from adde_nb.demo import tiny_demo
    return tiny_demo()

def test_report(demo):
    out, res = demo
    html = (out/'report.html').read_text()
    for heading in ('Encoder: attribute prediction', 'ADDE-M: attribute manipulation', 'ADDE-C: conditional similarity',
                    'ADDE-O: outfit completion', 'Configuration', 'Environment'):
        assert heading in html
    assert len(re.findall(r'<img alt="[^"]+" src="data:image/png;base64,', html)) >= 7
    assert html.count('<table') >= 5
    for k in ('no manipulation', 'attribute prediction', 'without L_c', 'without L_mem', 'without L_lt', 'untrained', 'uniform attention'):
        assert k in html, k

def _ndcg(ranked_idx, tgt_idx, mask, k):
    # straight from the paper's Eq. 8 and the supplementary's Z, one query and one rank at a time
    total = 0.0
    for q in range(len(ranked_idx)):
        types = [a for a in range(len(tgt_idx[q])) if mask[q][a]]
        dcg = sum((2**(sum(ranked_idx[q][t][a] == tgt_idx[q][a] for a in types)/max(len(types), 1)) - 1)/math.log2(t + 2) for t in range(k))
        total += dcg/sum(1/math.log2(j + 2) for j in range(k))
    return total/len(ranked_idx)

PROTOCOLS = {'paper': ('manip_rankings.npz', 'manipulation'), 'strict': ('manip_rankings_strict.npz', 'manipulation_strict')}

def _rankings(run, protocol):
    with np.load(run/PROTOCOLS[protocol][0], allow_pickle=False) as z: return {k: z[k] for k in z.files}

def _section(run, protocol):
    return json.loads((run/'metrics.json').read_text())[PROTOCOLS[protocol][1]]

@pytest.mark.parametrize('protocol', list(PROTOCOLS))
def test_manip_metrics_recomputed_from_rankings(demo, protocol):
    out, _ = demo
    run = out/'manip'
    z = _rankings(run, protocol)
    assert str(z['protocol']) == protocol
    m = _section(run, protocol)['adde_m']
    G, ranked, tgt, ind, off = z['gallery_labels'], z['adde_m'], z['target'], z['indicator'], z['attr_offsets']
    def idx(v):   # per-type value index, -1 when the block is empty
        return [int(np.argmax(v[off[a]:off[a+1]])) if v[off[a]:off[a+1]].any() else -1 for a in range(len(off) - 1)]
    tgt_i = [idx(t) for t in tgt]
    rk_i = [[idx(G[g]) for g in row] for row in ranked]
    changed = [[bool(np.abs(i[off[a]:off[a+1]]).sum()) for a in range(len(off) - 1)] for i in ind]
    for k in (10, 20, 30, 40, 50):
        assert f'top@{k}' in m, f"metrics.json has no top@{k}"
        top = np.mean([any((G[g] == t).all() for g in row[:k]) for row, t in zip(ranked, tgt)])
        assert abs(top - m[f'top@{k}']) < 1e-6
        assert abs(_ndcg(rk_i, tgt_i, [[True]*len(c) for c in changed], k) - m[f'ndcg@{k}']) < 1e-6
        assert abs(_ndcg(rk_i, tgt_i, changed, k) - m[f'ndcg_target@{k}']) < 1e-6
        assert abs(_ndcg(rk_i, tgt_i, [[not x for x in c] for c in changed], k) - m[f'ndcg_others@{k}']) < 1e-6
    assert m['n_queries'] == len(ranked)

@pytest.mark.parametrize('protocol', list(PROTOCOLS))
def test_baseline_metrics_recomputed_from_rankings(demo, protocol):
    out, _ = demo
    z = _rankings(out/'manip', protocol)
    m = _section(out/'manip', protocol)
    G, tgt = z['gallery_labels'], z['target']
    assert 'hybrid' in z, "the hybrid ranker (weight chosen on validation) is evaluated"
    for name in ('no_manipulation', 'attribute_prediction', 'hybrid'):
        ranked = z[name]
        assert ranked.shape == z['adde_m'].shape
        returned = (ranked == z['query_ref'][:, None]).any(1)
        if protocol == 'strict': assert not returned.any(), "the reference itself is never returned"
        elif name == 'no_manipulation': assert returned.all(), "the reference is in the gallery, nearest to itself"
        for k in (10, 20, 30, 40, 50):
            top = np.mean([any((G[g] == t).all() for g in row[:k]) for row, t in zip(ranked, tgt)])
            assert abs(top - m[name][f'top@{k}']) < 1e-6, (name, k)
