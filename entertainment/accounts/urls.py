from django.urls import path

from . import privacy_views, views

app_name = "accounts"
urlpatterns = [
    path("", views.account, name="account"),
    path("signup/", views.sign_up, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("privacy/", privacy_views.privacy, name="privacy"),
    path("privacy/exports/", privacy_views.exports, name="exports"),
    path(
        "privacy/exports/<int:pk>/download/",
        privacy_views.export_download,
        name="export_download",
    ),
    path("privacy/erase/items/", privacy_views.erase_items, name="erase_items"),
    path("privacy/erase/history/", privacy_views.erase_all_history, name="erase_history"),
    path("privacy/erase/account/", privacy_views.erase_whole_account, name="erase_account"),
    path("goodbye/", privacy_views.goodbye, name="goodbye"),
]
