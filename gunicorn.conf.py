"""Gunicorn settings for `make run` and production (gunicorn -c gunicorn.conf.py wsgi:app)."""
wsgi_app = "wsgi:app"
