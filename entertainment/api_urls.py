"""The REST API's routes, one router for the product apps."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from entertainment.accounts.api import MeView, MyTokenView, ObtainTokenView
from entertainment.accounts.privacy_api import (
    EraseView,
    MyErasuresView,
    MyExportDownloadView,
    MyExportsView,
    MyExportView,
    MyPrivacyView,
    MySettingChangesView,
)
from entertainment.activity.api import (
    BulkIngestView,
    DismissalViewSet,
    PlayViewSet,
    RatingViewSet,
    ReviewViewSet,
)
from entertainment.catalogue.api import GenreViewSet, ItemViewSet
from recommender.api_staff import ModelVersionViewSet, TrainingRunViewSet

router = DefaultRouter()
router.register("items", ItemViewSet, basename="item")
router.register("genres", GenreViewSet, basename="genre")
router.register("ratings", RatingViewSet, basename="rating")
router.register("plays", PlayViewSet, basename="play")
router.register("reviews", ReviewViewSet, basename="review")
router.register("dismissals", DismissalViewSet, basename="dismissal")
router.register("staff/training-runs", TrainingRunViewSet, basename="staff-training-run")
router.register("staff/model-versions", ModelVersionViewSet, basename="staff-model-version")

urlpatterns = [
    # Before the router, whose own patterns would otherwise claim "events/".
    path("events/bulk/", BulkIngestView.as_view(), name="events-bulk"),
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("me/", MeView.as_view(), name="me"),
    path("me/token/", MyTokenView.as_view(), name="my-token"),
    path("me/privacy/", MyPrivacyView.as_view(), name="my-privacy"),
    path("me/privacy/changes/", MySettingChangesView.as_view(), name="my-privacy-changes"),
    path("me/exports/", MyExportsView.as_view(), name="my-exports"),
    path("me/exports/<int:pk>/", MyExportView.as_view(), name="my-export"),
    path(
        "me/exports/<int:pk>/download/", MyExportDownloadView.as_view(), name="my-export-download"
    ),
    path("me/erasures/", MyErasuresView.as_view(), name="my-erasures"),
    path("me/erase/", EraseView.as_view(), name="my-erase"),
    path("imports/", include("entertainment.personal_imports.api_urls")),
    path("", include("recommender.api_urls")),
    path("", include(router.urls)),
]
