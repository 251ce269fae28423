"""In production the shop refuses to start with unsafe settings, and each refusal says how to fix it."""
import os
import signal
import subprocess
import sys

import pytest

from shop import ROOT, create_app
from shop.config import ConfigurationError, refuse_generated_secret_key
from tests.conftest import free_port


@pytest.fixture
def production(tmp_path, monkeypatch):
    """A production deployment's environment with every setting right; tests then spoil one."""
    monkeypatch.setenv("SHOP_INSTANCE_PATH", str(tmp_path / "instance"))
    for name in list(os.environ):
        if name.startswith("SHOP_") and name != "SHOP_INSTANCE_PATH":
            monkeypatch.delenv(name)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    for name, value in {
        "ENV": "production", "BASE_URL": "https://shop.example", "SECRET_KEY": "k" * 64,
        "DATABASE_URL": f"sqlite:///{tmp_path}/shop.db", "STRIPE_SECRET_KEY": "sk_live_shop",
        "STRIPE_WEBHOOK_SECRET": "whsec_shop",
    }.items():
        monkeypatch.setenv(f"SHOP_{name}", value)
    return monkeypatch


def refusal() -> str:
    with pytest.raises(ConfigurationError) as error:
        create_app()
    return str(error.value)


def test_a_correctly_configured_production_shop_starts(production):
    app = create_app()
    assert (app.config["ENV"], app.debug, app.config["BASE_URL"]) == ("production", False, "https://shop.example")
    assert app.test_client().get("/healthz", headers={"Host": "shop.example"}).status_code == 200


@pytest.mark.parametrize("variable", ["SHOP_DEBUG", "FLASK_DEBUG"])
def test_debug_is_refused(production, variable):
    production.setenv(variable, "1" if variable == "FLASK_DEBUG" else "true")
    message = refusal()
    assert "DEBUG is on in production" in message
    assert "Remove SHOP_DEBUG and FLASK_DEBUG from the environment" in message


def test_a_base_url_without_https_is_refused(production):
    production.setenv("SHOP_BASE_URL", "http://shop.example")
    message = refusal()
    assert "SHOP_BASE_URL is 'http://shop.example', not https" in message
    assert "and set SHOP_BASE_URL=https://shop.example." in message


def test_a_stripe_key_without_a_webhook_secret_is_refused(production):
    production.delenv("SHOP_STRIPE_WEBHOOK_SECRET")
    message = refusal()
    assert "SHOP_STRIPE_SECRET_KEY is set but SHOP_STRIPE_WEBHOOK_SECRET is not" in message
    assert "add the endpoint https://shop.example/checkout/webhook" in message

    production.delenv("SHOP_STRIPE_SECRET_KEY")
    assert create_app().config["STRIPE_SECRET_KEY"] is None  # the test-payment page, with no Stripe at all


def test_every_problem_is_listed_at_once(production):
    production.setenv("SHOP_DEBUG", "true")
    production.setenv("SHOP_BASE_URL", "http://shop.example")
    production.delenv("SHOP_STRIPE_WEBHOOK_SECRET")
    message = refusal()
    assert message.startswith("The shop refuses to start in production:\n- DEBUG is on")
    assert message.count("\n- ") == 3


def test_the_testing_server_flag_allows_plain_http_on_a_loopback_address_only(production):
    production.setenv("SHOP_TESTING_SERVER", "1")
    production.setenv("SHOP_BASE_URL", "http://127.0.0.1:8000")
    assert create_app().config["BASE_URL"] == "http://127.0.0.1:8000"

    production.setenv("SHOP_BASE_URL", "http://shop.example")
    assert "not https" in refusal()
    production.setenv("SHOP_BASE_URL", "http://127.0.0.1:8000")
    production.setenv("SHOP_DEBUG", "true")
    assert "DEBUG is on" in refusal()


def test_testing_from_the_environment_does_not_switch_the_refusals_off(production):
    production.setenv("SHOP_TESTING", "true")
    production.setenv("SHOP_BASE_URL", "http://shop.example")
    assert "not https" in refusal()


def test_development_is_not_held_to_production_rules(production):
    production.setenv("SHOP_ENV", "development")
    production.setenv("SHOP_DEBUG", "true")
    production.setenv("SHOP_BASE_URL", "http://localhost:5000")
    production.delenv("SHOP_STRIPE_WEBHOOK_SECRET")
    assert create_app().config["ENV"] == "development"


def test_several_workers_need_a_given_secret_key(production, tmp_path):
    production.delenv("SHOP_SECRET_KEY")
    refuse_generated_secret_key(1)
    with pytest.raises(ConfigurationError) as error:
        refuse_generated_secret_key(2)
    assert "refuses to start 2 workers in production with a secret key generated into" in str(error.value)
    assert "Set SHOP_SECRET_KEY to the same value for all of them" in str(error.value)

    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text('SECRET_KEY = "given-in-the-instance-file"\n')
    refuse_generated_secret_key(2)
    (tmp_path / "instance" / "config.py").unlink()
    production.setenv("SHOP_ENV", "development")
    refuse_generated_secret_key(4)


def test_gunicorn_with_two_workers_and_a_generated_key_exits_saying_how_to_fix_it(production, tmp_path):
    production.delenv("SHOP_SECRET_KEY")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", "2",
         "--bind", f"127.0.0.1:{free_port()}"],
        cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        _, errors = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, errors = process.communicate()
        pytest.fail(f"gunicorn kept serving with a generated key on two workers:\n{errors}")
    assert process.returncode != 0
    assert "refuses to start 2 workers in production with a secret key generated" in errors
