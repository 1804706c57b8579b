"""Sign-up, log-in (with brute-force lockout), log-out and password change through the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from entertainment.accounts.models import User
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _axes_clean(db):
    # Failed attempts live in the database; each test starts with none.
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()


def _logged_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


def test_sign_up_creates_the_account_and_logs_in(client):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newcomer",
            "email": "new@example.org",
            "password1": "a long unusual passphrase 42",
            "password2": "a long unusual passphrase 42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="newcomer")
    assert user.check_password("a long unusual passphrase 42")
    assert _logged_in_user_id(client) == str(user.pk)
    home = client.get(response.url)
    assert b"Welcome to Encore, newcomer!" in home.content


def test_sign_up_with_bad_input_says_why_and_stores_nothing(client):
    response = client.post(
        reverse("accounts:signup"),
        {"username": "newcomer", "password1": "short", "password2": "different"},
    )
    assert response.status_code == 400
    assert b"didn\xe2\x80\x99t match" in response.content or b"didn't match" in response.content
    assert not User.objects.filter(username="newcomer").exists()


def test_sign_up_ignores_an_offsite_next(client):
    response = client.post(
        reverse("accounts:signup") + "?next=https://evil.example/",
        {
            "username": "newcomer",
            "password1": "a long unusual passphrase 42",
            "password2": "a long unusual passphrase 42",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("home")


def test_pages_render_with_labelled_fields_and_csrf(client):
    for name in ("accounts:signup", "accounts:login"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        html = response.content.decode()
        assert "csrfmiddlewaretoken" in html
        assert '<label for="id_username"' in html
        assert '<label for="id_password' in html


def test_login_and_logout(client):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(user.pk)

    # A link or an image must not log anyone out: GET is refused.
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert _logged_in_user_id(client) == str(user.pk)

    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert _logged_in_user_id(client) is None


def test_wrong_password_is_refused_with_a_message(client):
    user = UserFactory()
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert _logged_in_user_id(client) is None


def test_five_failures_lock_the_account_for_that_address(client):
    user = UserFactory()
    url = reverse("accounts:login")
    for _ in range(5):
        client.post(url, {"username": user.username, "password": "guess"}, REMOTE_ADDR="10.0.0.1")

    # Now even the right password is refused from that address...
    response = client.post(
        url, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert _logged_in_user_id(client) is None

    # ...while the owner, from elsewhere, still gets in.
    response = client.post(
        url, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.2"
    )
    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(user.pk)


def test_four_failures_do_not_lock(client):
    user = UserFactory()
    url = reverse("accounts:login")
    for _ in range(4):
        client.post(url, {"username": user.username, "password": "guess"}, REMOTE_ADDR="10.0.0.1")
    response = client.post(
        url, {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 302


def test_password_change(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("accounts:password_change")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "another long passphrase 7",
            "new_password2": "another long passphrase 7",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another long passphrase 7")
    # The session survives the change.
    assert _logged_in_user_id(client) == str(user.pk)
    assert b"Your password has been changed." in client.get(response.url).content


def test_password_change_needs_the_old_password(client):
    user = UserFactory()
    client.force_login(user)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "wrong",
            "new_password1": "another long passphrase 7",
            "new_password2": "another long passphrase 7",
        },
    )
    assert response.status_code == 400
    assert b"Your old password was entered incorrectly" in response.content
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_account_pages_need_a_login(client):
    for name in ("accounts:account", "accounts:password_change", "activity:history"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
