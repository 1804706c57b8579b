"""Serving at catalogue scale: ml.ranking.Ranker on synthetic models of 10k, 100k and 1M items.

For each catalogue size (bench/synthetic_model.py writes a model of the trained model's shapes
and structure: taste clusters, Zipf popularity, kNN and Markov lists, random GRU weights):

1. the time to write the model and to build its ANN index (ml.hybrid.write_index, its search
   depth tuned on synthetic people's queries);
2. `Ranker.recommend` latency, k = 50, p50 and p99 over 300 histories of 5-50 items drawn like
   people's (one or two clusters, popular items more likely), exact ranking (every item scored)
   and two-stage (ANN candidates + neighbours + popular) taking turns in the same run, and
   their ratio; also the thread's CPU time, which other load on the machine disturbs less;
3. the ANN index's recall@10 on its own (the top 10 of q.E + b by `ItemIndex.search` against
   brute force, for the people's query vectors) and the share of the true top 10 among the
   candidates the ranking asks it for; the two-stage hybrid top 10's mean overlap with the
   exact hybrid top 10;
4. the resident memory of a fresh process that loads the model as a web process does
   (`Ranker.load(dir)`, so the ranking EXACT_BELOW picks) and answers 200 requests: VmRSS
   (anonymous + file pages, and the model's files among those), Pss and the peak (VmHWM),
   beside the same process's figures after its imports (numpy, faiss, ml) and before loading;
   once with the page cache as writing the model left it, once with the model's pages evicted;
5. beyond EASE's catalogue size the model has the ALS part (its factors and their ANN index, as
   training writes them there): the two-stage latency is also measured with the part's weight
   set to 0 (the same model, the same turns), so its cost shows as a ratio;
6. with --break-even, the exact and two-stage latencies at 20k, 30k, 50k and 300k items too,
   and where the two-stage ranking becomes the faster (ml.ranking.EXACT_BELOW).

Models are written under the temporary directory (TMPDIR; a million items take about 1.5 GB
with the index) and removed afterwards. All of it takes about 6 minutes on 2 cores.

Run: .venv/bin/python bench/ml_serving.py [--quick | --sizes N ...] [--break-even]
"""

from __future__ import annotations

import os

# Serving runs in web worker processes, one request per thread: single-threaded BLAS and OpenMP
# (faiss) are the production setting, as entertainment/wsgi.py sets them (two BLAS threads make
# a 10,000 x 64 matrix-vector product 80 times slower here: 8 ms instead of 0.1).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import contextlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.synthetic_model import history, write_ann, write_model  # noqa: E402
from ml.artefacts import library_versions  # noqa: E402
from ml.ranking import ANN_CANDIDATES, EXACT_BELOW, Ranker  # noqa: E402
from ml.serving import top_k_row  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
BREAK_EVEN_SIZES = (20_000, 30_000, 50_000, 300_000)
HISTORIES = 300
WARM_UP = 20
MEMORY_REQUESTS = 200
K = 50
# Disk a model takes per item, the ANN index included (with room to spare).
BYTES_PER_ITEM = 2_500
MiB = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help=f"catalogue sizes (default {SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_SIZES}")
    parser.add_argument(
        "--break-even", action="store_true", help=f"exact vs two-stage at {BREAK_EVEN_SIZES} too"
    )
    parser.add_argument("--probe", nargs=2, metavar=("MODEL", "HISTORIES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe(Path(args.probe[0]), Path(args.probe[1]))
        return

    sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    extra = sorted(set(BREAK_EVEN_SIZES) - set(sizes)) if args.break_even else []
    workdir = Path(tempfile.gettempdir())
    need = max(sizes + extra) * BYTES_PER_ITEM
    free = shutil.disk_usage(workdir).free
    if free < need:
        sys.exit(
            f"{workdir} has {free / 2**30:.1f} GiB free; {need / 2**30:.1f} GiB needed (TMPDIR)"
        )
    library_versions()  # writing meta.json imports Keras once: not part of the write times
    print(
        f"(2 shared cores: figures are noisy; OPENBLAS_NUM_THREADS="
        f"{os.environ['OPENBLAS_NUM_THREADS']}, OMP_NUM_THREADS {os.environ['OMP_NUM_THREADS']}, "
        f"EXACT_BELOW {EXACT_BELOW:,}, k {K}, "
        f"{HISTORIES} histories of 5-50 items; models under {workdir})",
        flush=True,
    )
    latencies = {}
    for n_items in sizes:
        latencies[n_items] = measure(n_items, workdir, full=True)
    for n_items in extra:
        latencies[n_items] = measure(n_items, workdir, full=False)
    if args.break_even:
        report_break_even(latencies)


def measure(
    n_items: int, workdir: Path, *, full: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Everything for one catalogue size (`full`: quality and memory too, else latency only);
    returns the p50 latencies, wall and CPU time (exact, two-stage), in ms."""
    print(f"\ncatalogue of {n_items:,} items", flush=True)
    with tempfile.TemporaryDirectory(prefix="encore-serving-", dir=workdir) as tmp:
        model = Path(tmp) / "model"
        start = time.perf_counter()
        write_model(model, n_items, index=False)
        written = time.perf_counter() - start
        start = time.perf_counter()
        write_ann(model, n_items)
        indexed = time.perf_counter() - start
        size = sum(f.stat().st_size for f in model.rglob("*") if f.is_file())
        ann = sum(f.stat().st_size for f in (model / "ann").rglob("*") if f.is_file())
        print(
            f"  model written in {written:.1f} s, ANN index built in {indexed:.1f} s "
            f"({size / MiB:,.0f} MiB on disk, the index {ann / MiB:,.0f} MiB)"
        )

        rng = np.random.default_rng(1)
        histories = [history(rng, n_items, int(n)) for n in rng.integers(5, 51, HISTORIES)]
        exact = Ranker.load(model, exact_below=n_items + 1)
        staged = Ranker.load(model, exact_below=0)
        assert exact.exact and staged.index is not None
        meta = staged.index.meta
        print(
            f"  index: {meta.get('index_type')}, {meta.get('nlist', '-')} lists, nprobe "
            f"{meta.get('nprobe', '-')} (recall@10 at build {meta.get('recall_at_10')})"
        )
        rankers: tuple[Ranker, ...] = (exact, staged)
        if staged.weights["als"]:
            without = Ranker.load(model, exact_below=0)
            without.weights["als"] = 0.0
            rankers = (exact, staged, without)
        found = timed(rankers, histories)
        (exact_wall, exact_cpu, exact_lists), (staged_wall, staged_cpu, staged_lists) = found[:2]
        e50, e99 = np.percentile(exact_wall, (50, 99)) * 1e3
        s50, s99 = np.percentile(staged_wall, (50, 99)) * 1e3
        ec, ec99 = np.percentile(exact_cpu, (50, 99)) * 1e3
        sc, sc99 = np.percentile(staged_cpu, (50, 99)) * 1e3
        print(
            f"  recommend, k {K}:  exact p50 {e50:6.2f} ms  p99 {e99:6.2f} ms  |  two-stage p50 "
            f"{s50:6.2f} ms  p99 {s99:6.2f} ms  |  exact / two-stage: p50 {e50 / s50:.2f}, p99 "
            f"{e99 / s99:.2f}",
            flush=True,
        )
        print(
            f"    the thread's CPU time (less disturbed by other load): exact p50 {ec:.2f} ms p99 "
            f"{ec99:.2f} ms, two-stage p50 {sc:.2f} ms p99 {sc99:.2f} ms, ratio p50 {ec / sc:.2f}"
        )
        if len(found) == 3:
            w50, w99 = np.percentile(found[2][0], (50, 99)) * 1e3
            print(
                f"  the ALS part's cost: two-stage without it p50 {w50:6.2f} ms  p99 {w99:6.2f} ms;"
                f" with / without: p50 {s50 / w50:.2f}, p99 {s99 / w99:.2f}",
                flush=True,
            )
        if full:
            recall, within = ann_recall(staged, histories)
            overlap = np.mean(
                [
                    len({r.item for r in a[:10]} & {r.item for r in b[:10]}) / 10
                    for a, b in zip(exact_lists, staged_lists, strict=True)
                ]
            )
            print(
                f"  ANN recall@10 (q.E + b, the index alone) {recall:.3f}, the true top 10 among "
                f"its {ANN_CANDIDATES} candidates {within:.3f}; two-stage hybrid top 10 vs exact: "
                f"mean overlap@10 {overlap:.3f}",
                flush=True,
            )
            del exact, staged
            memory(model, histories)
    return (float(e50), float(s50)), (float(ec), float(sc))


def timed(
    rankers: tuple[Ranker, ...], histories: list[list[str]]
) -> list[tuple[np.ndarray, np.ndarray, list[list]]]:
    """Each ranker's wall and CPU times (s) and lists, the rankers taking turns on each history
    (first one, then the other) so that both see the same load on a shared machine."""
    for h in histories[:WARM_UP]:
        for ranker in rankers:
            ranker.recommend(h, K)
    wall: list[list[float]] = [[] for _ in rankers]
    cpu: list[list[float]] = [[] for _ in rankers]
    lists: list[list] = [[] for _ in rankers]
    for n, h in enumerate(histories):
        order = range(len(rankers)) if n % 2 == 0 else reversed(range(len(rankers)))
        for r in order:
            start, start_cpu = time.perf_counter(), time.thread_time()
            found = rankers[r].recommend(h, K)
            cpu[r].append(time.thread_time() - start_cpu)
            wall[r].append(time.perf_counter() - start)
            lists[r].append(found)
    return [(np.asarray(w), np.asarray(c), x) for w, c, x in zip(wall, cpu, lists, strict=True)]


def ann_recall(ranker: Ranker, histories: list[list[str]]) -> tuple[float, float]:
    """For the people's query vectors: recall@10 of the ANN index alone against brute force, and
    the share of the true top 10 among the ANN_CANDIDATES the two-stage ranking asks it for."""
    assert ranker.index is not None
    table, bias = ranker.sequence.item_embedding[1:], ranker.sequence.item_bias[1:]
    queries = np.stack([ranker._query(ranker.items.positions(h)) for h in histories])
    top10 = ranker.index.search(queries, 10)
    candidates = ranker.index.search(queries, ANN_CANDIDATES)
    hits = np.zeros(2)
    for query, found, more in zip(queries, top10, candidates, strict=True):
        truth = top_k_row(table @ query + bias, 10)
        hits += len(np.intersect1d(truth, found)), len(np.intersect1d(truth, more))
    recall, within = hits / (10 * len(histories))
    return float(recall), float(within)


def memory(model: Path, histories: list[list[str]]) -> None:
    """A fresh process's memory holding the model as a web process does (see probe), twice: with
    the page cache as writing the model left it (as on the host that trained it), then with the
    model's pages dropped from the cache first (as after a restart, or a model copied in)."""
    requests = model.parent / "histories.json"
    requests.write_text(json.dumps(histories[:MEMORY_REQUESTS]))
    for cache in ("as written", "cold"):
        if cache == "cold":
            drop_cache(model)
        done = subprocess.run(
            [sys.executable, __file__, "--probe", str(model), str(requests)],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            sys.exit(f"the memory probe failed:\n{done.stderr}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        before, loaded, after = figures["before"], figures["loaded"], figures["after"]
        mode = "exact" if figures["exact"] else "two-stage"
        print(
            f"  memory of a fresh process, Ranker.load ({mode}) + {MEMORY_REQUESTS} requests, page "
            f"cache {cache}:\n    VmRSS {mib(after['VmRSS'])} = anon {mib(after['RssAnon'])} + "
            f"file {mib(after['RssFile'])} (the model's files {mib(after['model'])}, shared "
            f"page cache), Pss {mib(after.get('Pss'))}, peak VmHWM {mib(after['VmHWM'])}\n"
            f"    after the imports, before loading: VmRSS {mib(before['VmRSS'])}, anon "
            f"{mib(before['RssAnon'])}, Pss {mib(before.get('Pss'))}; just loaded: VmRSS "
            f"{mib(loaded['VmRSS'])}, anon {mib(loaded['RssAnon'])}; the model's share of "
            f"VmRSS {mib(after['VmRSS'] - before['VmRSS'])}, of anon "
            f"{mib(after['RssAnon'] - before['RssAnon'])}",
            flush=True,
        )


def drop_cache(directory: Path) -> None:
    """Evict the files' pages from the page cache (flushed first: only clean pages go)."""
    for path in directory.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def mib(kb: int | None) -> str:
    return "n/a" if kb is None else f"{kb / 1024:,.0f} MiB"


def probe(model: Path, requests: Path) -> None:
    """The --probe process: imports (done), then memory before loading, after loading and after
    the requests, as JSON on the last line of stdout."""
    histories = json.loads(requests.read_text())
    figures = {"before": resident(model)}
    ranker = Ranker.load(model)
    figures["loaded"] = resident(model)
    for h in histories:
        ranker.recommend(h, K)
    figures["after"] = resident(model)
    print(json.dumps({**figures, "exact": ranker.exact}))


def resident(model: Path) -> dict[str, int]:
    """kB: VmRSS, RssAnon, RssFile, VmHWM (/proc/self/status), Pss (smaps_rollup) and the
    resident pages of the model's files (`model`, smaps)."""
    out: dict[str, int] = {"model": 0}
    wanted = {"status": ("VmRSS", "RssAnon", "RssFile", "VmHWM"), "smaps_rollup": ("Pss",)}
    for name, keys in wanted.items():
        try:
            lines = Path(f"/proc/self/{name}").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition(":")
            if key in keys:
                out[key] = int(value.split()[0])
    mapped = False
    with contextlib.suppress(OSError), open("/proc/self/smaps") as smaps:
        for line in smaps:
            if "-" in line.split(" ", 1)[0] and not line.startswith(("Rss", "Pss")):
                mapped = str(model) in line
            elif mapped and line.startswith("Rss:"):
                out["model"] += int(line.split()[1])
    return out


def report_break_even(
    latencies: dict[int, tuple[tuple[float, float], tuple[float, float]]],
) -> None:
    print("\nbreak-even, p50 ms (wall; the thread's CPU time)")
    print("      items      exact   two-stage   exact / two-stage")
    sizes = sorted(latencies)
    for n in sizes:
        (e, s), (ec, sc) = latencies[n]
        print(f"  {n:>9,}  {e:6.2f}; {ec:5.2f}  {s:6.2f}; {sc:5.2f}   {e / s:5.2f}; {ec / sc:5.2f}")
    for label, which in (("wall", 0), ("CPU time", 1)):
        ratios = [math.log(latencies[n][which][0] / latencies[n][which][1]) for n in sizes]
        print(f"  by {label}: {crossing(sizes, ratios)}")


def crossing(sizes: list[int], log_ratios: list[float]) -> str:
    """Where exact / two-stage first crosses 1, interpolated on log size between measurements."""
    if log_ratios[0] >= 0:
        return f"two-stage is already the faster at {sizes[0]:,} items"
    for n in range(1, len(sizes)):
        (a, ra), (b, rb) = (sizes[n - 1], log_ratios[n - 1]), (sizes[n], log_ratios[n])
        if ra < 0 <= rb:
            at = math.exp(math.log(a) + (math.log(b) - math.log(a)) * -ra / (rb - ra))
            return (
                f"two-stage becomes the faster at about {at:,.0f} items (between {a:,} and {b:,})"
            )
    return "exact is the faster at every size measured"


if __name__ == "__main__":
    main()
