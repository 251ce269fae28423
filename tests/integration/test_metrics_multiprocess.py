"""Under gunicorn, /metrics from any worker counts the requests every worker served.

gunicorn.conf.py, which gunicorn reads from the working directory the fixture starts it in,
gives the workers one PROMETHEUS_MULTIPROC_DIR: the one the environment names, or a private one.
"""
import glob
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from shop.extensions import db
from shop.operations import metrics
from tests.factories import make_product

TOKEN = "multiprocess-metrics-token"
HOME = (("endpoint", "catalog.home"), ("method", "GET"), ("status", "2xx"))
UNMATCHED = (("endpoint", "unmatched"), ("method", "GET"), ("status", "4xx"))
PAGES, MISSING = 32, 10


def scrape(shop) -> dict[tuple, float]:
    response = requests.get(shop.url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    samples: dict[tuple, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"{key} appears twice"
            samples[key] = sample.value
    return samples


def browse(shop, folder: str) -> int:
    """Ask for the home page eight shoppers at a time until both workers have served some; return how many.

    Both sync workers serve when eight ask at once, once both have started: the fixture waits
    only for the first.
    """
    asked = 0
    with ThreadPoolExecutor(8) as pool:
        while asked < 50 * PAGES:
            assert list(pool.map(lambda _: requests.get(shop.url + "/", timeout=30).status_code, range(8))) == [200] * 8
            asked += 8
            if asked >= PAGES and len([count for count in home_pages_per_process(folder).values() if count]) == 2:
                return asked
    pytest.fail(f"one worker served all {asked} pages")


def home_pages_per_process(folder: str) -> dict[str, float]:
    """Read each process's own file: {pid: home pages it served}."""
    served = {}
    for path in glob.glob(os.path.join(folder, "counter_*.db")):
        pid = os.path.basename(path)[len("counter_"):-len(".db")]
        for family in MultiProcessCollector.merge([path]):
            for sample in family.samples:
                if sample.name == "shop_http_requests_total" and tuple(sorted(sample.labels.items())) == HOME:
                    served[pid] = sample.value
    return served


@pytest.fixture
def shop_page(app):
    make_product("Mug")
    db.session.commit()


def test_every_worker_answers_with_the_sum_of_all_workers_counts(shop_page, gunicorn_shop, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    # The last run's file: its thousand pages must not be added to this run's.
    stale = MmapedDict(str(folder / "counter_4000000.db"))
    stale.write_value(mmap_key("shop_http_requests", "shop_http_requests_total", [name for name, _ in HOME],
                               [value for _, value in HOME], "left over"), 1000.0, 0.0)
    stale.close()
    (folder / "notes.txt").write_text("not prometheus_client's: kept")

    shop = gunicorn_shop(workers=2, env={"PROMETHEUS_MULTIPROC_DIR": str(folder), "SHOP_METRICS_TOKEN": TOKEN})
    pages = browse(shop, str(folder))
    for n in range(MISSING):
        assert requests.get(f"{shop.url}/missing/{n}", timeout=30).status_code == 404

    for scraped in range(6):  # whichever worker answers
        samples = scrape(shop)
        assert samples[("shop_http_requests_total", HOME)] == pages
        assert samples[("shop_http_request_duration_seconds_count", HOME[:2])] == pages
        assert samples[("shop_http_requests_total", UNMATCHED)] == MISSING
        metrics_endpoint = (("endpoint", "metrics"), ("method", "GET"), ("status", "2xx"))
        assert samples.get(("shop_http_requests_total", metrics_endpoint), 0) == scraped
    # The figures from the database appear once, not once per worker.
    assert samples[("shop_orders_paid_total", (("currency", "usd"),))] == 0
    assert not [key for key in samples if "pid" in dict(key[1])]

    served = home_pages_per_process(str(folder))
    assert "4000000" not in served and (folder / "notes.txt").exists()
    assert len(served) == 2 and sum(served.values()) == pages


def test_without_a_folder_named_the_master_makes_a_private_one_and_removes_it(shop_page, gunicorn_shop, tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    shop = gunicorn_shop(workers=2, env={"TMPDIR": str(temp), "SHOP_METRICS_TOKEN": TOKEN})
    assert requests.get(shop.url + "/", timeout=30).status_code == 200
    assert scrape(shop)[("shop_http_requests_total", HOME)] == 1
    [folder] = temp.glob("shop-metrics-*")
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    assert sum(home_pages_per_process(str(folder)).values()) == 1
    shop.stop()
    assert not folder.exists()


def test_a_dead_workers_live_gauges_are_forgotten_and_its_counts_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("gauge_livesum_123.db", "gauge_liveall_123.db", "counter_123.db", "gauge_livesum_456.db"):
        (tmp_path / name).write_bytes(b"")
    metrics.worker_exited(123)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["counter_123.db", "gauge_livesum_456.db"]


def test_the_configuration_read_again_on_sighup_keeps_the_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(metrics, "_prepared_in_pid", None)  # as in a master that has not prepared yet
    folder = tmp_path / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    metrics.prepare_multiprocess_dir()
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    (folder / "counter_123.db").write_bytes(b"")
    metrics.prepare_multiprocess_dir()
    assert (folder / "counter_123.db").exists()
