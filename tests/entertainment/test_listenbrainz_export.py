"""Importing a ListenBrainz export ZIP (listens/<year>/<month>.jsonl), by the command and by
the function the pages can call."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from entertainment.activity.models import Play
from entertainment.catalogue.models import ExternalId, Item
from entertainment.scrobbling.lbexport import ExportError, import_export
from tests.conftest import api_token

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "listenbrainz"
RICK_RECORDING = "98255a8c-017a-4bc7-8dd6-1fa36124572b"


def export_line() -> dict:
    return json.loads((FIXTURES / "export_line.json").read_text())


def other_line(listened_at: float, artist: str, title: str) -> dict:
    return {
        "listened_at": listened_at,
        "inserted_at": listened_at + 1,
        "track_metadata": {
            "artist_name": artist,
            "track_name": title,
            "additional_info": {"recording_msid": "0c1ea3cf-0f3b-4cbb-a64e-bd0a19b8a7a1"},
            "recording_msid": "0c1ea3cf-0f3b-4cbb-a64e-bd0a19b8a7a1",
            "mbid_mapping": None,
        },
    }


def make_zip(path: Path, months: dict[str, list[object]]) -> Path:
    """An archive laid out as ListenBrainz writes it: user.json, listens/<y>/<m>.jsonl, ..."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("user.json", json.dumps({"user_id": 1, "username": "rick"}) + "\n")
        for name, lines in months.items():
            text = "".join(
                (line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines
            )
            archive.writestr(f"listens/{name}.jsonl", text)
        archive.writestr("feedback.jsonl", "")
    return path


@pytest.fixture
def archive(tmp_path) -> Path:
    return make_zip(
        tmp_path / "listenbrainz_rick_1764400000.zip",
        {
            "2015/9": [export_line()],
            "2023/11": [
                other_line(1700000000.0, "Duo Teslar", "Universal Funk"),
                "",
                other_line(1700000300.25, "I Mitomani Beat", "Shake"),
            ],
        },
    )


def test_the_command_imports_every_listen_idempotently(user, archive):
    out = io.StringIO()
    call_command("import_listenbrainz", str(archive), user=user.username, stdout=out)
    assert "3 listens, 3 stored" in out.getvalue()
    plays = list(Play.objects.filter(user=user).order_by("started_at"))
    assert [p.item.title for p in plays] == ["Never Gonna Give You Up", "Universal Funk", "Shake"]
    assert int(plays[2].started_at.timestamp()) == 1700000300
    # ListenBrainz's own match (mbid_mapping) gave the MBIDs the player did not send.
    assert ExternalId.objects.get(source="musicbrainz", value=RICK_RECORDING).item == plays[0].item
    items = Item.objects.count()

    out = io.StringIO()
    call_command("import_listenbrainz", str(archive), user=user.username, stdout=out)
    assert "3 listens, 0 stored, 3 already there" in out.getvalue()
    assert Play.objects.filter(user=user).count() == 3
    assert Item.objects.count() == items


def test_a_listen_scrobbled_before_is_not_imported_twice(user, archive):
    from django.test import Client

    body = json.loads((FIXTURES / "single.json").read_text())
    response = Client().post(
        "/1/submit-listens",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {api_token(user)}",
    )
    assert response.status_code == 200
    result = import_export(user, archive)
    assert (result.received, result.stored, result.duplicates) == (3, 2, 1)
    assert Play.objects.filter(user=user).count() == 3


def test_a_bad_line_is_named_and_nothing_is_stored(user, tmp_path):
    bad = other_line(1700000600, "Duo Teslar", "Universal Funk")
    del bad["track_metadata"]["track_name"]
    archive = make_zip(
        tmp_path / "bad.zip",
        {"2023/10": [other_line(1700000000, "A", "B")], "2023/11": ["", "", bad]},
    )
    with pytest.raises(CommandError) as raised:
        call_command("import_listenbrainz", str(archive), user=user.username)
    assert "listens/2023/11.jsonl:3:" in str(raised.value)
    assert "track_metadata.track_name" in str(raised.value)
    assert not Play.objects.exists()
    assert not Item.objects.exists()


def test_a_line_that_is_not_json_is_named(user, tmp_path):
    archive = make_zip(tmp_path / "bad.zip", {"2024/1": [export_line(), "{oops"]})
    with pytest.raises(ExportError, match=r"listens/2024/1\.jsonl:2: not JSON"):
        import_export(user, archive)
    assert not Play.objects.exists()


def test_an_archive_without_listens_is_refused(user, tmp_path):
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("user.json", "{}")
    with pytest.raises(CommandError, match=r"no listens/<year>/<month>\.jsonl"):
        call_command("import_listenbrainz", str(tmp_path / "empty.zip"), user=user.username)
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(CommandError, match="not a ZIP archive"):
        call_command("import_listenbrainz", str(tmp_path / "plain.txt"), user=user.username)


def test_an_unknown_account_is_refused(db, archive):
    with pytest.raises(CommandError, match="No account named 'nobody'"):
        call_command("import_listenbrainz", str(archive), user="nobody")


def test_a_paused_history_imports_nothing(user, archive):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()
    out = io.StringIO()
    call_command("import_listenbrainz", str(archive), user=user.username, stdout=out)
    assert "3 not stored (history paused)" in out.getvalue()
    assert not Play.objects.exists()
    assert not Item.objects.exists()


def test_an_uploaded_file_object_imports_too(user, archive):
    result = import_export(user, io.BytesIO(archive.read_bytes()))
    assert result.stored == 3
