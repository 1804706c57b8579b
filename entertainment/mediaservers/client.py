"""The part of Jellyfin's (and Emby's) REST API Encore uses, over HTTP.

Jellyfin takes the key in `Authorization: MediaBrowser Token="…"` (its documented scheme; the
older `X-Emby-Token` still works there, and is the one Emby documents). A person's items are
`GET /Items?userId=` on Jellyfin 10.9+ (the `/Users/{id}/Items` form is deprecated there) and
`GET /Users/{id}/Items` on Emby. Every call has a timeout; any failure is a MediaServerError
naming the call, never the key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import requests

from .models import Connection

PAGE = 200
TIMEOUT_S = 15
# Server ids are GUIDs (32 hex digits, with or without dashes); anything else is refused
# before it reaches a URL or the Playback Reporting plugin's SQL.
SERVER_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")
LIBRARY_TYPES = ("Movie", "Series", "MusicArtist", "MusicAlbum", "Audio")
ITEM_FIELDS = "Genres,ProviderIds,ProductionYear,ParentId,Overview"


class MediaServerError(Exception):
    """A call to the server failed; the message names the call and why."""


def checked_id(value: str) -> str:
    if not SERVER_ID.match(value):
        raise MediaServerError(f"not a server id: {value[:80]!r}")
    return value


class Client:
    def __init__(self, connection: Connection, session: requests.Session | None = None) -> None:
        self.connection = connection
        self.base = connection.url.rstrip("/")
        self.session = session or requests.Session()
        key = connection.api_key
        if connection.kind == Connection.Kind.EMBY:
            self.headers = {"X-Emby-Token": key}
        else:
            self.headers = {
                "Authorization": (
                    'MediaBrowser Client="Encore", Device="Encore", '
                    f'DeviceId="encore-{connection.pk}", Version="1.0", Token="{key}"'
                )
            }

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.session.request(
                method, self.base + path, headers=self.headers, timeout=TIMEOUT_S, **kwargs
            )
        except requests.RequestException as error:
            raise MediaServerError(f"{method} {path}: {type(error).__name__}") from error
        if response.status_code == 401:
            raise MediaServerError(f"{method} {path}: the server refused the API key (401)")
        if response.status_code >= 400:
            raise MediaServerError(f"{method} {path}: HTTP {response.status_code}")
        if not response.content:
            return None
        if response.headers.get("Content-Type", "").startswith("image/"):
            return response.content
        try:
            return response.json()
        except ValueError as error:
            raise MediaServerError(f"{method} {path}: the answer is not JSON") from error

    def users(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/Users") or [])

    def _paged(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._call("GET", path, params={**params, "StartIndex": start, "Limit": PAGE})
            items = page.get("Items", []) if isinstance(page, dict) else []
            yield from items
            start += len(items)
            if not items or start >= int(page.get("TotalRecordCount", 0)):
                return

    def library(self) -> Iterator[dict[str, Any]]:
        """Every film, series, artist, album and track, with genres, year and provider ids."""
        return self._paged(
            "/Items",
            {
                "Recursive": "true",
                "IncludeItemTypes": ",".join(LIBRARY_TYPES),
                "Fields": ITEM_FIELDS,
                "EnableImageTypes": "Primary",
            },
        )

    def user_items(self, user_id: str) -> Iterator[dict[str, Any]]:
        """A person's played or favourite items, each with its `UserData`."""
        params = {
            "Recursive": "true",
            "IncludeItemTypes": ",".join(LIBRARY_TYPES),
            "Filters": "IsPlayed",
            "Fields": "ProviderIds",
            "EnableUserData": "true",
        }
        uid = checked_id(user_id)
        if self.connection.kind == Connection.Kind.EMBY:
            yield from self._paged(f"/Users/{uid}/Items", params)
            return
        seen: set[str] = set()
        for flag in ("IsPlayed", "IsFavorite"):
            for item in self._paged("/Items", {**params, "Filters": flag, "userId": uid}):
                if item.get("Id") not in seen:
                    seen.add(item.get("Id", ""))
                    yield item

    def primary_image(self, item_id: str) -> bytes | None:
        try:
            body = self._call("GET", f"/Items/{checked_id(item_id)}/Images/Primary")
        except MediaServerError as error:
            if "HTTP 404" in str(error):
                return None
            raise
        return body if isinstance(body, bytes) else None

    def playback_activity(self, user_id: str, since: str) -> list[list[str]] | None:
        """Timed plays from the Playback Reporting plugin (date, item id, seconds), or None
        when the plugin is not installed."""
        if not re.match(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$", since):
            raise MediaServerError(f"not a date: {since!r}")
        query = (
            "SELECT DateCreated, ItemId, PlayDuration FROM PlaybackActivity "
            f"WHERE UserId = '{checked_id(user_id).replace('-', '')}' "
            f"AND DateCreated > '{since}' ORDER BY DateCreated"
        )
        try:
            body = self._call(
                "POST",
                "/user_usage_stats/submit_custom_query",
                json={"CustomQueryString": query, "ReplaceUserId": False},
            )
        except MediaServerError as error:
            if "HTTP 404" in str(error):
                return None
            raise
        return list((body or {}).get("results", []))

    def create_playlist(self, name: str, item_ids: list[str], user_id: str, media: str) -> str:
        body = self._call(
            "POST",
            "/Playlists",
            json={
                "Name": name,
                "Ids": [checked_id(i) for i in item_ids],
                "UserId": checked_id(user_id),
                "MediaType": media,
            },
        )
        return checked_id(str((body or {}).get("Id", "")))

    def playlist_entries(self, playlist_id: str, user_id: str) -> list[tuple[str, str]]:
        """(entry id, item id) of each entry: an item may be in a playlist twice, so entries
        are removed by their own ids."""
        body = self._call(
            "GET",
            f"/Playlists/{checked_id(playlist_id)}/Items",
            params={"userId": checked_id(user_id)},
        )
        return [(str(i["PlaylistItemId"]), str(i["Id"])) for i in (body or {}).get("Items", [])]

    def delete_playlist(self, playlist_id: str) -> None:
        """A playlist is an item: DELETE /Items/{id}. One already gone is fine."""
        try:
            self._call("DELETE", f"/Items/{checked_id(playlist_id)}")
        except MediaServerError as error:
            if "HTTP 404" not in str(error):
                raise

    def replace_playlist(self, playlist_id: str, item_ids: list[str], user_id: str) -> None:
        """Make the playlist hold exactly these items, in order (a 404 if it is gone)."""
        pid, uid = checked_id(playlist_id), checked_id(user_id)
        entries = self.playlist_entries(pid, uid)
        if [item for _, item in entries] == item_ids:
            return
        if entries:
            gone = ",".join(entry for entry, _ in entries)
            self._call("DELETE", f"/Playlists/{pid}/Items", params={"entryIds": gone})
        if item_ids:
            self._call(
                "POST",
                f"/Playlists/{pid}/Items",
                params={"ids": ",".join(checked_id(i) for i in item_ids), "userId": uid},
            )
