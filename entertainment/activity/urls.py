from django.urls import path

from . import views

app_name = "activity"
urlpatterns = [
    path("history/", views.history, name="history"),
    path("items/<int:pk>/rate/", views.rate, name="rate"),
    path("items/<int:pk>/play/", views.play, name="play"),
    path("items/<int:pk>/review/", views.review, name="review"),
    path("items/<int:pk>/not-for-me/", views.dismiss, name="dismiss"),
    path("items/<int:pk>/not-for-me/undo/", views.undo_dismiss, name="undo_dismiss"),
]
