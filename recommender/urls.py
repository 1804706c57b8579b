"""The staff dashboard's pages, mounted at /staff/."""

from django.urls import path

from . import views_staff

app_name = "staff"
urlpatterns = [
    path("", views_staff.dashboard_page, name="dashboard"),
    path("progress.json", views_staff.progress, name="progress"),
    path("train/", views_staff.train_now, name="train"),
    path("versions/<int:pk>/activate/", views_staff.activate, name="activate"),
    path("models/<slug:kind>/roll-back/", views_staff.roll_back, name="roll_back"),
    path("experiments/start/", views_staff.experiment_start, name="experiment_start"),
    path("experiments/<int:pk>/stop/", views_staff.experiment_stop, name="experiment_stop"),
    path(
        "experiments/<int:pk>/activate/",
        views_staff.experiment_activate,
        name="experiment_activate",
    ),
]
