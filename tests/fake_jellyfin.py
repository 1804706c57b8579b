"""A Jellyfin (or Emby) server for the tests: the endpoints Encore calls, with the JSON shapes
and field names of Jellyfin's OpenAPI description (BaseItemDto, UserItemDataDto,
QueryResult, PlaylistCreationResult) and the Playback Reporting plugin's custom query answer.
It runs on a real socket in a thread and records every request it is sent.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from PIL import Image


def png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 60), colour).save(out, "PNG")
    return out.getvalue()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeServer:
    api_key: str
    emby: bool = False
    users: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    # user id → item id → UserData
    user_data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # None: the Playback Reporting plugin is not installed (its route answers 404).
    activity: dict[str, list[list[str]]] | None = None
    playlists: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self) -> str:
        return f"{next(self._ids):032x}"

    def authorised(self, headers: dict[str, str]) -> bool:
        if self.emby:
            return headers.get("X-Emby-Token") == self.api_key
        auth = headers.get("Authorization", "")
        return auth.startswith("MediaBrowser ") and f'Token="{self.api_key}"' in auth

    def query_items(self, query: dict[str, list[str]], user: str | None) -> dict[str, Any]:
        types = set((query.get("IncludeItemTypes") or [""])[0].split(","))
        rows = [i for i in self.items if i["Type"] in types]
        if user is not None:
            data = self.user_data.get(user, {})
            wanted = (query.get("Filters") or [""])[0]
            key = {"IsPlayed": "Played", "IsFavorite": "IsFavorite"}.get(wanted)
            rows = [
                {**i, "UserData": data[i["Id"]]}
                for i in rows
                if i["Id"] in data and (key is None or data[i["Id"]].get(key))
            ]
        start = int((query.get("StartIndex") or ["0"])[0])
        limit = int((query.get("Limit") or ["100"])[0])
        return {
            "Items": rows[start : start + limit],
            "TotalRecordCount": len(rows),
            "StartIndex": start,
        }

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        if method == "GET" and path == "/Users":
            return self.users
        if method == "GET" and path == "/Items":
            if self.emby and "userId" in query:
                return 400, {"error": "Emby reads a person's items at /Users/{id}/Items"}
            user = query["userId"][0] if "userId" in query else None
            return self.query_items(query, user)
        if method == "GET" and (m := re.fullmatch(r"/Users/([0-9a-f]+)/Items", path)):
            return self.query_items(query, m.group(1))
        if method == "GET" and (m := re.fullmatch(r"/Items/([0-9a-f]+)/Images/Primary", path)):
            return self.images.get(m.group(1), 404)
        if method == "POST" and path == "/user_usage_stats/submit_custom_query":
            if self.activity is None:
                return 404
            asked = re.search(r"UserId = '([0-9a-f]+)'", body["CustomQueryString"])
            rows = self.activity.get(asked.group(1) if asked else "", [])
            return {"colums": ["DateCreated", "ItemId", "PlayDuration"], "results": rows}
        if method == "POST" and path == "/Playlists":
            pid = self.new_id()
            self.playlists[pid] = {
                "Name": body["Name"],
                "UserId": body["UserId"],
                "MediaType": body.get("MediaType"),
                "entries": [(self.new_id(), i) for i in body.get("Ids", [])],
            }
            return {"Id": pid}
        if method == "DELETE" and (m := re.fullmatch(r"/Items/([0-9a-f]+)", path)):
            return 204 if self.playlists.pop(m.group(1), None) else 404
        if m := re.fullmatch(r"/Playlists/([0-9a-f]+)/Items", path):
            playlist = self.playlists.get(m.group(1))
            if playlist is None:
                return 404
            if method == "GET":
                items = [{"Id": i, "PlaylistItemId": e} for e, i in playlist["entries"]]
                return {"Items": items, "TotalRecordCount": len(items)}
            if method == "POST":
                ids = (query.get("ids") or [""])[0].split(",")
                playlist["entries"] += [(self.new_id(), i) for i in ids if i]
                return 204
            if method == "DELETE":
                gone = set((query.get("entryIds") or [""])[0].split(","))
                playlist["entries"] = [(e, i) for e, i in playlist["entries"] if e not in gone]
                return 204
        return 404

    def playlist_items(self, name: str) -> list[str]:
        (playlist,) = [p for p in self.playlists.values() if p["Name"] == name]
        return [i for _, i in playlist["entries"]]


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = dict(self.headers.items())
            server.seen.append(Seen(method, url.path, query, headers, body))
            if not server.authorised(headers):
                self._send(401, b"", "text/plain")
                return
            answer = server.answer(method, url.path, query, body)
            status = 200
            if isinstance(answer, tuple):
                status, answer = answer
            if isinstance(answer, int):
                self._send(answer, b"", "text/plain")
            elif isinstance(answer, bytes):
                self._send(200, answer, "image/png")
            else:
                self._send(status, json.dumps(answer).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


@contextmanager
def running(server: FakeServer) -> Iterator[FakeServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
