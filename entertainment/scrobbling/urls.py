from django.urls import path

from . import views

app_name = "scrobbling"
urlpatterns = [
    # ListenBrainz's API, at the paths its clients append to a base URL.
    path("1/validate-token", views.validate_token, name="listenbrainz-validate-token"),
    path("1/submit-listens", views.submit_listens, name="listenbrainz-submit-listens"),
    path(
        "1/user/<str:user_name>/listens",
        views.user_listens,
        name="listenbrainz-user-listens",
    ),
    path("hooks/plex/<str:secret>/", views.plex_webhook, name="plex-webhook"),
    path("accounts/plex-webhook/", views.plex_webhook_issue, name="plex-webhook-issue"),
    path("accounts/plex-webhook/revoke/", views.plex_webhook_revoke, name="plex-webhook-revoke"),
]
