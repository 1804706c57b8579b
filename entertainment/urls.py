"""Root URLs: pages, the admin, the REST API and its schema."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("entertainment.accounts.urls")),
    path("catalogue/", include("entertainment.catalogue.urls")),
    path("me/imports/", include("entertainment.personal_imports.urls")),
    path("me/", include("entertainment.activity.urls")),
    # ListenBrainz-compatible /1/ API, the Plex webhook and its account page section.
    path("", include("entertainment.scrobbling.urls")),
    # Jellyfin/Emby: the person's account links and the Webhook plugin's endpoint.
    path("", include("entertainment.mediaservers.urls")),
    path("admin/", admin.site.urls),
    path("staff/", include("recommender.urls")),
    path("api/", include("entertainment.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: CSP forbids inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.SERVE_MEDIA:
    # Artwork is public catalogue content; uploads are validated images only.
    urlpatterns += [
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

handler404 = "entertainment.views.not_found"
handler500 = "entertainment.views.server_error"
