"""The package's layers, read from its import statements: each module imports only modules of earlier notebooks,
and the three tasks (manipulation, conditional, outfit) never import each other. The one reference that runs the
other way is the run registry (`runs.KINDS`), which names each kind's builder, trainer and evaluator as
`module:function` strings, imported only when a run of that kind is built or trained: checked here too."""
import ast, json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = {'manipulation', 'conditional', 'outfit'}

def module_imports() -> dict:
    "module → the adde_nb modules it imports (at top level or inside functions)"
    out = {}
    for f in sorted((ROOT/'adde_nb').glob('*.py')):
        if f.name.startswith('_'): continue
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1 and node.module: deps.add(node.module.split('.')[0])
                elif node.level == 1: deps.update(a.name for a in node.names if not a.name.startswith('_'))
                elif node.module and node.module.startswith('adde_nb.'): deps.add(node.module.split('.')[1])
                elif node.module == 'adde_nb': deps.update(a.name for a in node.names if a.name != '__version__')
            elif isinstance(node, ast.Import):
                deps.update(a.name.split('.')[1] for a in node.names if a.name.startswith('adde_nb.'))
        out[f.stem] = deps - {f.stem}
    return out

def notebook_order() -> dict:
    "module → the number of the notebook that exports it"
    order = {}
    for nb in (ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'):
        src = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'])
        m = re.search(r'#\|\s*default_exp\s+(\S+)', src)
        if m: order[m.group(1)] = int(nb.name[:2])
    return order

def test_tasks_are_siblings():
    imps = module_imports()
    for t in TASKS:
        assert not imps[t] & (TASKS - {t}), f"{t} imports {imps[t] & TASKS}"
        assert 'runs' in imps[t], f"{t} does not sit on runs"

def test_each_module_imports_only_earlier_ones():
    imps, order = module_imports(), notebook_order()
    assert set(imps) <= set(order), set(imps) - set(order)
    for m, deps in imps.items():
        later = {d for d in deps if order[d] >= order[m]}
        assert not later, f"{m} (notebook {order[m]:02d}) imports later modules {sorted(later)}"

def test_metrics_is_pure_numpy():
    assert module_imports()['metrics'] <= {'schema'}
    src = (ROOT/'adde_nb'/'metrics.py').read_text()
    assert 'import torch' not in src and 'fastai' not in src

def test_tasks_import():
    import adde_nb.manipulation, adde_nb.conditional, adde_nb.outfit

def test_registry_points_forward_and_imports_nothing():
    import subprocess, sys
    from adde_nb.runs import KINDS
    order = notebook_order()
    for kind, rk in KINDS.items():
        for ref in (rk.build, rk.train, rk.evaluate):
            mod = ref.split(':')[0].split('.')[1]
            assert order[mod] >= order['runs'], f"{kind}: {ref} is defined before the run layer"
    code = "import sys, adde_nb.runs; print(sorted(m for m in sys.modules if m.startswith('adde_nb.')))"
    loaded = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    for m in ('pretraining', 'manipulation', 'conditional', 'outfit', 'demo', 'cli'): assert f"adde_nb.{m}'" not in loaded, loaded
