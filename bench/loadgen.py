"""What the load benchmarks share: gunicorn on a free loopback port, and wrk driving it.

Every request carries one header picked at random from a file of lines (an API token or a
session cookie per person), so the load spreads over many people like real traffic. A client
either sends its next request as soon as the answer arrives (closed loop: the figures are the
server's saturation) or pauses a random think time first, exponential with a given mean, as
independent people do (paced: 32 such clients offer less than saturation, so the latency is
the service's own, not the queue's).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LUA = """
headers = {}
for line in io.lines("%(headers)s") do headers[#headers + 1] = line end
paths = {%(paths)s}
think_ms = %(think_ms)d
math.randomseed(os.time())
request = function()
  local name, value = headers[math.random(#headers)]:match("^([^:]+): (.*)$")
  local path = paths[math.random(#paths)]
  return wrk.format("GET", path, {[name] = value, ["Connection"] = "%(connection)s"})
end
delay = function()
  -- Exponential pauses: clients that paused a fixed time would fire in lockstep bursts.
  return -think_ms * math.log(1 - math.random())
end
"""


@dataclass(frozen=True)
class Result:
    rps: float
    p50: float
    p99: float
    requests: int
    errors: int

    def row(self, label: str) -> str:
        return f"{label:<52}{self.rps:>8.0f}{self.p50:>9.1f}{self.p99:>9.1f}{self.errors:>8}"


HEADER = f"{'endpoint':<52}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"


def add_load_options(parser: argparse.ArgumentParser) -> None:
    """The options every load benchmark takes: how many clients, and gunicorn's shape."""
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")


def ready() -> bool:
    """wrk is installed (else say how to get it); prints the machine's load beforehand."""
    if shutil.which("wrk") is None:
        print("wrk is not installed: `make wrk` (Debian's package)", file=sys.stderr)
        return False
    print(f"load before: {os.getloadavg()} on {os.cpu_count()} cores (shared: figures are noisy)")
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def header_file(directory: Path, name: str, lines: Sequence[str]) -> Path:
    path = directory / f"{name}.headers"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int, python: str) -> Iterator[str]:
    """gunicorn serving the site on a free loopback port; yields its base URL."""
    port = free_port()
    binary = Path(python).parent / "gunicorn"
    worker = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
    server = subprocess.Popen(
        [str(binary), "entertainment.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), *worker, "--log-level", "warning",
         # Clients pause up to seconds: the 2 s default closes connections they still use.
         "--keep-alive", "75"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect (to the login page, say) is an answer, not the page


def wait_up(url: str, header: str, timeout: float = 60.0) -> None:
    """Wait for the server, and make sure `url` answers 200 itself with this header: wrk
    counts a redirect as a success, so a lost session would otherwise go unnoticed."""
    name, value = header.split(": ", 1)
    request = urllib.request.Request(url, headers={name: value})
    opener = urllib.request.build_opener(_NoRedirect)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(request, timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:  # the server answers, but not with the page
            raise RuntimeError(f"{url} answered {exc.code}") from None
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert match, text
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.M)
    assert match, f"wrk printed no {pattern!r}:\n{text}"
    return match.group(1)


def wrk(
    base: str,
    paths: Sequence[str],
    headers: Path,
    *,
    connections: int,
    duration: int,
    threads: int = 1,
    think_ms: int = 0,
    keep_alive: bool = True,
) -> Result:
    """Load `paths` (one picked at random per request) for `duration` seconds."""
    script = headers.parent / f"wrk-{os.getpid()}-{time.monotonic_ns()}.lua"
    script.write_text(
        LUA
        % {
            "headers": headers,
            "paths": ", ".join(f'"{p}"' for p in paths),
            "think_ms": think_ms,
            "connection": "keep-alive" if keep_alive else "close",
        }
    )
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
         "--timeout", "5s", "--latency", "-s", str(script), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return Result(
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50=_ms(_find(r"^\s+50%\s+(\S+)", out)),
        p99=_ms(_find(r"^\s+99%\s+(\S+)", out)),
        requests=int(_find(r"(\d+) requests in", out)),
        errors=errors,
    )
