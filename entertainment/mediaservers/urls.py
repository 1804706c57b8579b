from django.urls import path

from . import views

app_name = "mediaservers"
urlpatterns = [
    path("accounts/media-servers/", views.accounts, name="accounts"),
    path("hooks/jellyfin/<str:secret>/", views.webhook, name="webhook"),
]
