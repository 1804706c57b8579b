"""Recommendation endpoints, included by entertainment/api_urls.py under /api/."""

from django.urls import path

from .api import RecommendationsView, SessionNextView, SimilarItemsView

urlpatterns = [
    path("recommendations/", RecommendationsView.as_view(), name="recommendations"),
    path("items/<int:pk>/similar/", SimilarItemsView.as_view(), name="item-similar"),
    path("sessions/next/", SessionNextView.as_view(), name="session-next"),
]
