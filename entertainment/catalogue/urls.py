from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("item/<int:pk>/", views.item_detail, name="item"),
    path("<slug:kind_slug>/", views.kind_list, name="list"),
]
