from django.apps import AppConfig


class ScrobblingConfig(AppConfig):
    name = "entertainment.scrobbling"
    label = "scrobbling"
    verbose_name = "Scrobbling (ListenBrainz API, Plex webhook)"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
