from django.apps import AppConfig


class MediaServersConfig(AppConfig):
    name = "entertainment.mediaservers"
    label = "mediaservers"
    verbose_name = "Media servers (Jellyfin, Emby)"

    def ready(self) -> None:
        from . import receivers  # noqa: F401
