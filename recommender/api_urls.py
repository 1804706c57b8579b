"""Recommendation endpoints, included by entertainment/api_urls.py under /api/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import RecommendationsView, SessionNextView, SimilarItemsView
from .api_online_metrics import OnlineMetricsView
from .api_staff import ExperimentViewSet

router = SimpleRouter()
router.register("staff/experiments", ExperimentViewSet, basename="staff-experiment")

urlpatterns = [
    path("recommendations/", RecommendationsView.as_view(), name="recommendations"),
    path("items/<int:pk>/similar/", SimilarItemsView.as_view(), name="item-similar"),
    path("sessions/next/", SessionNextView.as_view(), name="session-next"),
    path("staff/online-metrics/", OnlineMetricsView.as_view(), name="staff-online-metrics"),
    *router.urls,
]
