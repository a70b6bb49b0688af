"""The offline docs site: every notebook gets a page, the figures are there, formulas are MathML, exported
functions show their signature and docstring, and (where chromium is installed) headless screenshots are taken."""
import html, inspect, json, re, shutil, subprocess, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group('docs')

@pytest.fixture(scope='module')
def built(tmp_path_factory):
    from adde_nb.docs import build_docs
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        site = build_docs(ROOT, tmp_path_factory.mktemp('docs')/'_docs', use_quarto=False)
    return site, [str(o.message) for o in w]

@pytest.fixture(scope='module')
def site(built): return built[0]

def _prose(page):
    "Text of `page` outside code, scripts, styles and MathML"
    page = re.sub(r'(?s)<(pre|code|script|style|math)\b.*?</\1>', '', page)
    return html.unescape(re.sub(r'<[^>]+>', '', page))

def test_every_notebook_has_a_page(site):
    for nb in (ROOT/'nbs').glob('*.ipynb'):
        page = site/f"{nb.stem}.html"
        assert page.exists() and page.stat().st_size > 5000, page
        assert 'href="index.html"' in page.read_text()

def test_figures_of_all_three_tasks(site):
    pngs = list(site.glob('*_files/*.png'))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    for nb in ('11_manipulation', '12_conditional', '13_outfit'):
        figs = list((site/f'{nb}_files').glob('*.png'))
        assert figs, f"no figure on the {nb} page"
        assert f'{nb}_files/' in (site/f'{nb}.html').read_text()

def test_all_formulas_convert():
    from adde_nb.docs import md_math
    n, failed = 0, {}
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            if c['cell_type'] != 'markdown': continue
            md, f = md_math(''.join(c['source']))
            n += md.count('<math')
            if f: failed.setdefault(nb.name, []).extend(f)
    assert not failed, f"formulas left as LaTeX: {failed}"
    assert n >= 50, n

def test_no_formula_left_as_latex_in_the_build(built):
    assert [m for m in built[1] if 'left as LaTeX' in m] == []

def test_manipulation_formulas_are_mathml(site):
    page = (site/'11_manipulation.html').read_text()
    assert page.count('<math') >= 30
    assert '<mi>\N{SCRIPT CAPITAL M}</mi>' in page               # \mathcal{M}, from the memory block section
    prose = _prose(page)
    assert '$\\mathcal' not in prose and '\\mathcal' not in prose and 'L_{cls}' not in prose
    assert 'mathjax' not in page.lower()                         # nothing to fetch from a CDN to show them

def _api_entry(page, name):
    "Text of the API reference entry of `name` on `page`: from its heading to the next heading"
    i = page.index(f'<h3 id="{name}">')
    j = page.find('<h', i + 4)
    return html.unescape(re.sub(r'<[^>]+>', '', page[i:j if j > 0 else None]))

@pytest.mark.parametrize('page,mod,name', [('07_encoder', 'encoder', 'semihard_triplet'), ('02_metrics', 'metrics', 'exact_hits')])
def test_api_reference(site, page, mod, name):
    import importlib
    f = getattr(importlib.import_module(f'adde_nb.{mod}'), name)
    entry = _api_entry((site/f'{page}.html').read_text(), name)
    sig = re.search(rf'def {name}\((.*?)\)\s*(->[^:]*)?:', entry, re.S)[1]
    assert all(p in sig for p in inspect.signature(f).parameters), sig
    first = re.sub(r'`', '', inspect.getdoc(f).splitlines()[0])
    assert first in entry, (first, entry)

@pytest.mark.parametrize('page', ['index', '11_manipulation'])
def test_screenshot(site, tmp_path, page):
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe is None: pytest.skip("chromium is not installed: no screenshot")
    shot = site/f'screenshot_{page}.png'
    subprocess.run([exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                    '--disable-sync', '--no-first-run', f'--user-data-dir={tmp_path}', '--window-size=1280,1600',
                    f'--screenshot={shot}', (site/f'{page}.html').as_uri()], check=True, capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000

def test_pictures_linked_from_pages_are_there(site):
    srcs = re.findall(r'src="(images/[^"]+)"', (site/'index.html').read_text())
    assert srcs, "the index page links no picture (the README's manipulation figure is expected)"
    for s in srcs: assert (site/s).exists() and (site/s).stat().st_size > 1000, s
