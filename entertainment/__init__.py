"""Encore: the Django project and the product apps (catalogue, activity, accounts)."""

from .celery import app as celery_app

__all__ = ["celery_app"]
