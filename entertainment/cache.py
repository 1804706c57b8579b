"""Django's Redis cache, failing fast for a moment after Redis fails.

Every caller already treats a cache error as a miss (entertainment/caching.py, the throttles);
what an error costs is the problem. A Redis that is stopped refuses connections at once, but
one that hangs (frozen, swapping, a network partition) costs each call the socket timeout, and
one request makes several calls: a page would take seconds. So after a connection error or a
timeout, every call in this process fails at once, without touching the network, for
`down_backoff_s` (an OPTIONS entry; 1 s by default), and then Redis is tried again. A request
pays at most one timeout, and the site is back on Redis within that long of Redis's return.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import redis
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_DOWN_BACKOFF_S = 1.0

# Per process, per server list: when to try Redis again (time.monotonic()).
_down_until: dict[tuple[str, ...], float] = {}


class CacheDown(redis.ConnectionError):
    """Raised without a network call while Redis is considered down."""


class FailFastRedisCacheClient(RedisCacheClient):
    def __init__(
        self, servers: list[str], down_backoff_s: float = DEFAULT_DOWN_BACKOFF_S, **options: Any
    ) -> None:
        super().__init__(servers, **options)
        self._down_key = tuple(servers)
        self._down_backoff_s = float(down_backoff_s)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        # Django builds a new client object for every call (65 µs, as much as half a round
        # trip); one per pool serves every thread, since the pool hands out the connections.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # not in the stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = redis.Redis(connection_pool=pool)
        return client

    def _call(self, call: Callable[..., T], *args: Any) -> T:
        if time.monotonic() < _down_until.get(self._down_key, 0.0):
            raise CacheDown("Redis failed moments ago; not trying again yet")
        try:
            result = call(*args)
        except (redis.ConnectionError, redis.TimeoutError):
            if self._down_key not in _down_until:
                log.error("Redis unreachable; failing cache calls fast for a while")
            _down_until[self._down_key] = time.monotonic() + self._down_backoff_s
            raise
        if _down_until.pop(self._down_key, None) is not None:
            log.warning("Redis reachable again")
        return result

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        return self._call(super().add, key, value, timeout)

    def get(self, key: Any, default: Any) -> Any:
        return self._call(super().get, key, default)

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        self._call(super().set, key, value, timeout)

    def touch(self, key: Any, timeout: Any) -> bool:
        return self._call(super().touch, key, timeout)

    def delete(self, key: Any) -> bool:
        return self._call(super().delete, key)

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        return self._call(super().get_many, keys)

    def has_key(self, key: Any) -> bool:
        return self._call(super().has_key, key)

    def incr(self, key: Any, delta: int) -> Any:
        return self._call(super().incr, key, delta)

    def set_many(self, data: Mapping[Any, Any], timeout: Any) -> None:
        self._call(super().set_many, data, timeout)

    def delete_many(self, keys: Iterable[Any]) -> None:
        self._call(super().delete_many, keys)

    def clear(self) -> bool:
        return self._call(super().clear)

    def hit(self, key: Any, window_s: int, reads: list[Any]) -> tuple[int, int, dict[Any, Any]]:
        def count() -> tuple[int, int, dict[Any, Any]]:
            pipe = self.get_client(key, write=True).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, window_s, nx=True)  # only a new counter starts a window
            pipe.ttl(key)
            if reads:
                pipe.mget(reads)
            hits, _, ttl, *rest = pipe.execute()
            values = rest[0] if reads else []
            found = {
                k: self._serializer.loads(v)  # type: ignore[attr-defined]  # not in the stubs
                for k, v in zip(reads, values, strict=True)
                if v is not None
            }
            return int(hits), max(int(ttl), 0), found

        return self._call(count)


class FailFastRedisCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = FailFastRedisCacheClient

    def hit(
        self, key: str, window_s: int, reads: Iterable[str] = ()
    ) -> tuple[int, int, dict[str, Any]]:
        """Count one more hit on the counter at `key`: (hits so far, seconds until it resets,
        what the cache holds of the keys in `reads`, as get_many returns it).

        A new counter lasts `window_s`. One round trip (INCR, EXPIRE NX, TTL and an MGET of
        `reads`, pipelined): the API's rate limits call this on every request, and read there
        what the view will read (throttling.py).
        """
        made = {self.make_and_validate_key(k): k for k in reads}
        client = cast(FailFastRedisCacheClient, self._cache)
        hits, ttl, found = client.hit(self.make_and_validate_key(key), window_s, list(made))
        return hits, ttl, {made[k]: v for k, v in found.items()}
