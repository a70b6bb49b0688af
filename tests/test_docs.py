"""The offline docs site: every notebook gets a page, the figures are there, and (where chromium is
installed) a headless screenshot of the index page is taken."""
import shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group('docs')

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    from adde_nb.docs import build_docs
    return build_docs(ROOT, tmp_path_factory.mktemp('docs')/'_docs', use_quarto=False)

def test_every_notebook_has_a_page(site):
    for nb in (ROOT/'nbs').glob('*.ipynb'):
        page = site/f"{nb.stem}.html"
        assert page.exists() and page.stat().st_size > 5000, page
        assert 'href="index.html"' in page.read_text()

def test_figures_of_all_three_tasks(site):
    pngs = list(site.glob('*_files/*.png'))
    assert pngs and all(p.stat().st_size > 1000 for p in pngs)
    for nb in ('10_manipulation', '11_conditional', '12_outfit'):
        figs = list((site/f'{nb}_files').glob('*.png'))
        assert figs, f"no figure on the {nb} page"
        assert f'{nb}_files/' in (site/f'{nb}.html').read_text()

def test_screenshot(site, tmp_path):
    exe = shutil.which('chromium') or shutil.which('chromium-browser')
    if exe is None: pytest.skip("chromium is not installed: no screenshot")
    shot = site/'screenshot.png'
    subprocess.run([exe, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                    '--disable-sync', '--no-first-run', f'--user-data-dir={tmp_path}', '--window-size=1280,1600',
                    f'--screenshot={shot}', (site/'index.html').as_uri()], check=True, capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000

def test_pictures_linked_from_pages_are_there(site):
    import re
    srcs = re.findall(r'src="(images/[^"]+)"', (site/'index.html').read_text())
    assert srcs, "the index page links no picture (the README's manipulation figure is expected)"
    for s in srcs: assert (site/s).exists() and (site/s).stat().st_size > 1000, s
