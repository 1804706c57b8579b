"""The admin: catalogue screens, bulk actions, and the personal-data permission."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from PIL import Image

from entertainment.activity.models import Rating
from entertainment.catalogue.artwork import set_artwork
from entertainment.catalogue.models import Item, Kind
from tests.factories import (
    CreatorFactory,
    GenreFactory,
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def png(size: tuple[int, int] = (480, 320)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def admin_client_() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def staff_with(*codenames: str) -> Client:
    user = StaffFactory()
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_item_changelist_shows_thumbnails_and_activity_counts(admin_client_):
    drama = GenreFactory(name="Drama")
    film = ItemFactory(title="Heat", year=1995, genres=[drama])
    set_artwork(film, png(), "heat.png")
    RatingFactory.create_batch(3, item=film)
    PlayFactory.create_batch(2, item=film)
    ReviewFactory(item=film)
    ItemFactory(title="Quiet", year=2010)

    response = admin_client_.get(reverse("admin:catalogue_item_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="{Item.objects.get(pk=film.pk).artwork_thumbnail.url}"' in html
    heat = next(r for r in response.context["cl"].result_list if r.pk == film.pk)
    assert (heat.rating_count, heat.play_count, heat.review_count) == (3, 2, 1)
    # The filters are on the page.
    assert "1990s" in html and "By kind" in html.replace("By  kind", "By kind")


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ({"kind__exact": "game"}, ["Doom"]),
        ({"decade": "1990"}, ["Doom", "Heat"]),
        ({"decade": "none"}, ["Undated"]),
        ({"q": "mann"}, ["Heat"]),
    ],
)
def test_item_changelist_filters_and_search(admin_client_, query, titles):
    director = CreatorFactory(name="Michael Mann")
    heat = ItemFactory(title="Heat", year=1995)
    heat.credits.create(creator=director, role="director")
    ItemFactory(title="Doom", year=1993, kind=Kind.GAME)
    ItemFactory(title="Undated", year=None)
    ItemFactory(title="Later", year=2012)
    response = admin_client_.get(reverse("admin:catalogue_item_changelist"), query)
    assert response.status_code == 200
    assert sorted(i.title for i in response.context["cl"].result_list) == titles


def test_item_changelist_filters_by_genre(admin_client_):
    drama = GenreFactory(name="Drama")
    ItemFactory(title="Heat", genres=[drama])
    ItemFactory(title="Other")
    response = admin_client_.get(
        reverse("admin:catalogue_item_changelist"), {"genres__id__exact": drama.pk}
    )
    assert [i.title for i in response.context["cl"].result_list] == ["Heat"]


def test_item_changelist_queries_do_not_grow_with_items(
    admin_client_, django_assert_max_num_queries
):
    url = reverse("admin:catalogue_item_changelist")
    for _ in range(3):
        RatingFactory(item=ItemFactory())
    admin_client_.get(url)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as few:
        admin_client_.get(url)
    for _ in range(30):
        PlayFactory(item=ItemFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client_.get(url)


def test_item_change_form_renders_with_inlines_and_counts(admin_client_):
    item = ItemFactory(title="Heat")
    set_artwork(item, png(), "heat.png")
    item.credits.create(creator=CreatorFactory(name="Al Pacino"), role="cast")
    item.external_ids.create(source="movielens", value="6")
    RatingFactory.create_batch(2, item=item)
    response = admin_client_.get(reverse("admin:catalogue_item_change", args=[item.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Al Pacino" in html and 'value="6"' in html
    assert Item.objects.get(pk=item.pk).artwork_thumbnail.url in html
    assert response.context["adminform"].form.instance.rating_count == 2


def item_form(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "kind": "film",
        "title": "Uploaded",
        "description": "",
        "year": "2001",
        "platforms": "[]",
        "music_type": "",
    }
    for prefix in ("credits", "external_ids"):
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }
    return data | fields


def test_uploading_artwork_in_the_admin_stores_it_with_a_thumbnail(admin_client_):
    upload = io.BytesIO(png((960, 640)))
    upload.name = "poster.png"
    response = admin_client_.post(
        reverse("admin:catalogue_item_add"), item_form(artwork=upload), follow=True
    )
    assert response.status_code == 200
    item = Item.objects.get(title="Uploaded")
    assert item.artwork.name.endswith(".png")
    with item.artwork_thumbnail.open("rb") as f, Image.open(f) as thumb:
        assert thumb.size == (240, 160)


def test_a_bad_upload_in_the_admin_is_refused_with_its_reason(admin_client_):
    upload = io.BytesIO(b"%PDF-1.4 definitely a document")
    upload.name = "poster.jpg"
    response = admin_client_.post(reverse("admin:catalogue_item_add"), item_form(artwork=upload))
    assert response.status_code == 200
    assert "not a JPEG, PNG, WebP or GIF image" in response.content.decode()
    assert not Item.objects.exists()


def run_action(client: Client, action: str, items: list, **extra: object):
    return client.post(
        reverse("admin:catalogue_item_changelist"),
        {"action": action, "_selected_action": [i.pk for i in items], **extra},
        follow=True,
    )


def test_add_and_remove_genre_actions(admin_client_):
    noir = GenreFactory(name="Noir", kind=Kind.FILM)
    films = [ItemFactory(), ItemFactory(genres=[noir])]
    game = ItemFactory(kind=Kind.GAME)

    response = run_action(admin_client_, "add_genre", [*films, game], genre=noir.pk)
    assert all(noir in f.genres.all() for f in films)
    assert not game.genres.exists()
    text = response.content.decode()
    assert "Added Noir to 1 item(s)." in text
    assert "1 item(s) left alone" in text

    run_action(admin_client_, "remove_genre", films, genre=noir.pk)
    assert not any(f.genres.exists() for f in films)


def test_genre_action_without_a_genre_says_so(admin_client_):
    response = run_action(admin_client_, "add_genre", [ItemFactory()], genre="")
    assert "Choose a genre next to the action first." in response.content.decode()


def test_regenerate_thumbnails_action(admin_client_):
    item = ItemFactory()
    set_artwork(item, png(), "a.png")
    Item.objects.filter(pk=item.pk).update(artwork_thumbnail="")
    response = run_action(admin_client_, "regenerate_thumbnails", [item, ItemFactory()])
    assert "Regenerated 1 thumbnail(s)." in response.content.decode()
    item.refresh_from_db()
    assert item.artwork_thumbnail.storage.exists(item.artwork_thumbnail.name)


@pytest.mark.parametrize(
    "name",
    [
        "catalogue_genre",
        "catalogue_creator",
        "activity_rating",
        "activity_play",
        "activity_review",
        "accounts_user",
        "accounts_privacysettings",
        "accounts_settingchange",
    ],
)
def test_every_changelist_renders_for_a_superuser(admin_client_, name):
    RatingFactory()
    PlayFactory()
    ReviewFactory()
    GenreFactory()
    user = UserFactory(imported_from="movielens", imported_id="latest:1")
    user.privacy.history_paused = True
    user.privacy.save()
    user.setting_changes.create(setting="history_paused", old_value="False", new_value="True")
    response = admin_client_.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200


def test_user_change_form_shows_the_import_source(admin_client_):
    person = UserFactory(imported_from="lastfm", imported_id="2")
    response = admin_client_.get(reverse("admin:accounts_user_change", args=[person.pk]))
    assert response.status_code == 200
    assert "lastfm" in response.content.decode()


def test_privacy_settings_cannot_be_changed_by_staff(admin_client_):
    person = UserFactory()
    privacy = person.privacy
    url = reverse("admin:accounts_privacysettings_change", args=[privacy.pk])
    assert admin_client_.get(url).status_code == 200
    admin_client_.post(url, {"personalised": "", "history_paused": "on"})
    privacy.refresh_from_db()
    assert privacy.history_paused is False


# --- Personal data ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["rating", "play", "review"])
def test_raw_history_needs_the_personal_data_permission(model):
    row = {"rating": RatingFactory, "play": PlayFactory, "review": ReviewFactory}[model]()
    changelist = reverse(f"admin:activity_{model}_changelist")
    change = reverse(f"admin:activity_{model}_change", args=[row.pk])

    catalogue_editor = staff_with(f"view_{model}", f"change_{model}", f"delete_{model}")
    assert catalogue_editor.get(changelist).status_code == 403
    assert catalogue_editor.get(change).status_code == 403
    assert (
        catalogue_editor.post(
            reverse(f"admin:activity_{model}_delete", args=[row.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert type(row).objects.filter(pk=row.pk).exists()

    only_personal = staff_with("view_personal_data")
    assert only_personal.get(changelist).status_code == 403

    trusted = staff_with(f"view_{model}", "view_personal_data")
    response = trusted.get(changelist)
    assert response.status_code == 200
    assert row.user.username in response.content.decode()
    assert trusted.get(change).status_code == 200


def test_the_activity_section_is_hidden_without_the_permission():
    editor = staff_with("view_rating", "view_item")
    index = editor.get(reverse("admin:index")).content.decode()
    assert "Catalogue" in index
    assert reverse("admin:activity_rating_changelist") not in index

    trusted = staff_with("view_rating", "view_personal_data")
    index = trusted.get(reverse("admin:index")).content.decode()
    assert reverse("admin:activity_rating_changelist") in index


def test_item_counts_stay_visible_without_the_permission():
    item = ItemFactory()
    RatingFactory.create_batch(2, item=item)
    editor = staff_with("view_item")
    response = editor.get(reverse("admin:catalogue_item_changelist"))
    assert response.status_code == 200
    assert next(iter(response.context["cl"].result_list)).rating_count == 2
    assert Rating.objects.count() == 2
