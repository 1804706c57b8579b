"""/api/imports/..., included by entertainment.api_urls."""

from django.urls import path

from .api import (
    MatchUnmatchedRowView,
    PersonalImportsView,
    PersonalImportView,
    SkipUnmatchedRowView,
)

urlpatterns = [
    path("", PersonalImportsView.as_view(), name="personal-imports"),
    path("<int:pk>/", PersonalImportView.as_view(), name="personal-import"),
    path(
        "<int:pk>/unmatched/<int:row>/match/",
        MatchUnmatchedRowView.as_view(),
        name="personal-import-match",
    ),
    path(
        "<int:pk>/unmatched/<int:row>/skip/",
        SkipUnmatchedRowView.as_view(),
        name="personal-import-skip",
    ),
]
