from django.urls import path

from . import views

app_name = "personal_imports"
urlpatterns = [
    path("", views.imports, name="imports"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/rows/<int:row>/", views.match, name="match"),
    path("<int:pk>/rows/<int:row>/skip/", views.skip, name="skip"),
]
