"""How fast the Slack server acknowledges a signed event, beside a bare Bolt app, in the same run.

    .venv/bin/python bench/slack_ack.py            # 100 events/s for 10 s, then 5 s closed loop: about 35 s
    .venv/bin/python bench/slack_ack.py --quick    # 3 s and 2 s: about 15 s
    .venv/bin/python bench/slack_ack.py --help     # rate, duration, concurrency, warm-up

Two servers run as subprocesses on loopback, one after the other under the same load:

- **bot**: `python -m bot serve` (the real server: Bolt app, event_id dedupe in the database, outbox worker),
  with a temporary SQLite database and its Web API pointed at a fake Slack (`tests/fake_slack.py`) that runs in
  this process and records the replies the bot posts after acking;
- **bare**: a slack-bolt `AsyncApp` with one `message` listener that does nothing, served by the same aiohttp
  adapter (`to_bolt_request` / `to_aiohttp_response`) on an aiohttp server started the same way as the bot's
  (`web.run_app`, access log at INFO), with the same signing secret and the same fake Web API for `auth.test`.

Every request is a DM `event_callback` signed as Slack signs it (`v0=` HMAC-SHA256 over `v0:{ts}:{body}`), with
a distinct `event_id`, a staff question from a short list and one of 200 users, sent through one pooled aiohttp
client session.

1. **Open loop** (the target's shape): requests start at a fixed rate whatever the answers do (100/s for 10 s
   by default). Latency is from handing the request to the client to having read the response; `lag` is how
   late the load generator started requests (if it is large, the figures say more about this machine than about
   the server). Target: p99 < 50 ms at 100 requests/s, no errors.
2. **Closed loop** (throughput): `--concurrency` senders each send the next event as soon as the last one is
   acknowledged, for `--seconds`. `acked/s` counts 200 answers; for the bot, `answered/s` is events up to the
   moment the fake Slack received the reply to the last of them (the bot answers after acking, so acking can run
   ahead of answering). Target: bot ÷ bare >= 0.5. The CPU time each server spent per event (from
   /proc/PID/stat) is printed too: on a shared machine events/s depend on who else has the cores, while the
   bare/bot ratio of CPU per event is what the events/s ratio would be with a core each.

Between phases the script waits for the bot's replies to catch up, and it reports the replies the fake Slack
received and each server's resident memory at the end (VmRSS). It asserts nothing and exits 0; it is not part of
the test suite.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
QUESTIONS = [
    "Can I accept a friend request from a parent on Facebook?",
    "can i frend a parnt on fb",
    "Am I allowed to post photos of pupils on my own Instagram?",
    "What should a business case for a new school account cover?",
    "A former pupil keeps messaging me on Snapchat, what do I do?",
    "Can I use my personal phone to take pictures on a school trip?",
    "is it ok to follow the school's twitter from my own account",
    "Who do I tell if I see a colleague posting about a pupil?",
    "Where do I park my car?",
    "Can I comment on a news story about the school?",
]
USERS = 200
P99_TARGET_MS = 50.0
RATIO_TARGET = 0.5


# ---------------------------------------------------------------- the bare Bolt app (runs as a subprocess)

def serve_bare(port: int, api_url: str) -> None:
    """A bare Bolt app with one trivial listener, served like the bot (web.run_app, logging at INFO)."""
    import logging

    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    bolt = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url, timeout=10), signing_secret=SECRET)

    @bolt.event("message")
    async def on_message(event: dict) -> None:  # the trivial listener
        return None

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


# ---------------------------------------------------------------- the fake Web API (in this process)

def timed_fake():
    """tests/fake_slack.FakeSlack, noting when each chat.postMessage arrived."""
    from tests.fake_slack import FakeSlack

    class TimedFake(FakeSlack):
        def __init__(self) -> None:
            super().__init__()
            self.posted_at: list[float] = []

        async def handle(self, request: web.Request) -> web.Response:
            response = await super().handle(request)
            if request.match_info["method"] == "chat.postMessage":
                self.posted_at.append(time.perf_counter())
            return response

        def replies(self) -> int:
            return len(self.posted_at)

    return TimedFake()


async def start_fake():
    fake = timed_fake()
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/api/{method}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return fake, runner, f"http://127.0.0.1:{port}/api/"


# ---------------------------------------------------------------- the servers under test

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    url: str
    log: Path
    fake_counts: bool  # whether its replies arrive at the fake Slack

    def cpu_seconds(self) -> float:
        """utime + stime of the process, from /proc/PID/stat."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return math.nan

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return math.nan

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def launch(name: str, argv: list[str], env: dict[str, str], folder: Path, port: int, fake_counts: bool) -> Server:
    log = folder / f"{name}.log"
    with log.open("wb") as out:  # a file, not a pipe: nobody reads the pipe while the load runs
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    return Server(name, proc, f"http://127.0.0.1:{port}", log, fake_counts)


async def wait_ready(http: aiohttp.ClientSession, server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            async with http.get(f"{server.url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    tail = server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""
    raise SystemExit(f"{server.name} did not start (exit {server.proc.poll()}):\n{tail}")


# ---------------------------------------------------------------- the load

class Events:
    """Signed DM event_callback bodies with distinct event_ids."""

    def __init__(self, prefix: str):
        self.prefix, self.n = prefix, 0

    def next(self) -> tuple[bytes, dict[str, str]]:
        self.n += 1
        n, now = self.n, time.time()
        user = f"U{n % USERS:05d}"
        body = json.dumps({
            "token": "legacy-verification-token", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": f"Ev{self.prefix}{n:08d}", "event_time": int(now),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            "event": {"type": "message", "channel_type": "im", "channel": f"D{user}", "user": user,
                      "text": QUESTIONS[n % len(QUESTIONS)], "ts": f"{now:.6f}", "event_ts": f"{now:.6f}"},
        }).encode()
        ts = str(int(now))
        signature = "v0=" + hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Slack-Request-Timestamp": ts,
                      "X-Slack-Signature": signature}


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    lags_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


async def send(http: aiohttp.ClientSession, url: str, events: Events, result: Result) -> bool:
    body, headers = events.next()
    start = time.perf_counter()
    try:
        async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        result.error(type(exc).__name__)
        return False
    result.latencies_ms.append((time.perf_counter() - start) * 1000)
    if status != 200:
        result.error(f"HTTP {status}")
        return False
    return True


async def open_loop(http: aiohttp.ClientSession, url: str, events: Events, rate: float, seconds: float) -> Result:
    """Start one request every 1/rate s, whatever the server does."""
    result, tasks = Result(), []
    total = max(1, round(rate * seconds))
    t0 = time.perf_counter() + 0.05
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.lags_ms.append(max(0.0, (time.perf_counter() - due) * 1000))
        tasks.append(asyncio.create_task(send(http, url, events, result)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - t0
    return result


async def closed_loop(http: aiohttp.ClientSession, url: str, events: Events, concurrency: int,
                      seconds: float) -> Result:
    """`concurrency` senders, each sending the next event when the last is answered, until the time is up."""
    result = Result()
    t0 = time.perf_counter()
    stop_at = t0 + seconds

    async def sender() -> None:
        while time.perf_counter() < stop_at:
            await send(http, url, events, result)

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - t0
    return result


async def caught_up(fake, expected: int, timeout: float) -> float:
    """Wait until the fake Slack has `expected` replies; the seconds it took (nan on timeout)."""
    start = time.perf_counter()
    while fake.replies() < expected:
        if time.perf_counter() - start > timeout:
            return math.nan
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------- the run

async def bench(args: argparse.Namespace) -> int:
    fake, fake_runner, api_url = await start_fake()
    with tempfile.TemporaryDirectory(prefix="slack-ack-") as tmp:
        folder = Path(tmp)
        bot_port, bare_port = free_port(), free_port()
        env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api_url,
               "DATABASE_URL": f"sqlite:///{folder / 'bot.sqlite3'}", "BOT_DATA_DIR": str(folder / "data"),
               "PYTHONUNBUFFERED": "1"}
        env.pop("BOT_CONFIG", None)
        servers = [
            launch("bare", [sys.executable, __file__, "--serve-bare", str(bare_port), api_url], env, folder,
                   bare_port, False),
            launch("bot", [sys.executable, "-m", "bot", "serve", "--port", str(bot_port)], env, folder, bot_port, True),
        ]
        connector = aiohttp.TCPConnector(limit=max(64, args.concurrency * 2))
        timeout = aiohttp.ClientTimeout(total=args.timeout)
        rows: dict[str, dict[str, object]] = {}
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
                for server in servers:
                    await wait_ready(http, server)
                print(f"servers up (bare pid {servers[0].proc.pid}, bot pid {servers[1].proc.pid}); "
                      f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
                for server in servers:
                    events = Events(server.name)
                    row = rows[server.name] = {}
                    sent_before = fake.replies()
                    warm = Result()
                    for _ in range(args.warmup):  # the first request makes Bolt call auth.test; imports settle
                        await send(http, server.url, events, warm)
                    if server.fake_counts:
                        await caught_up(fake, sent_before + args.warmup - warm.error_count, args.drain)
                    print(f"{server.name}: open loop, {args.rate:g}/s for {args.duration:g} s ...", flush=True)
                    base = fake.replies()
                    ol = await open_loop(http, server.url, events, args.rate, args.duration)
                    row["open"] = ol
                    if server.fake_counts:
                        row["open_drain"] = await caught_up(fake, base + len(ol.latencies_ms) - ol.error_count,
                                                            args.drain)
                        row["open_replies"] = fake.replies() - base
                    print(f"{server.name}: closed loop, {args.concurrency} senders for {args.seconds:g} s ...",
                          flush=True)
                    base = fake.replies()
                    cpu0, t0 = server.cpu_seconds(), time.perf_counter()
                    cl = await closed_loop(http, server.url, events, args.concurrency, args.seconds)
                    row["closed"] = cl
                    acked = len(cl.latencies_ms) - cl.error_count
                    row["acked_per_s"] = acked / cl.elapsed
                    if server.fake_counts:
                        drain = await caught_up(fake, base + acked, args.drain)
                        row["closed_drain"] = drain
                        row["closed_replies"] = fake.replies() - base
                        answered = fake.replies() - base  # per second up to the last reply's arrival
                        row["answered_per_s"] = (math.nan if math.isnan(drain) or not answered
                                                 else answered / (fake.posted_at[-1] - t0))
                    else:
                        row["answered_per_s"] = row["acked_per_s"]
                    row["cpu_ms_per_event"] = (server.cpu_seconds() - cpu0) * 1000 / max(1, acked)
                    row["rss_mb"] = server.rss_mb()
        finally:
            for server in servers:
                server.stop()
            await fake_runner.cleanup()
        report(args, rows, servers)
    return 0


def report(args: argparse.Namespace, rows: dict[str, dict], servers: list[Server]) -> None:
    print()
    print(f"open loop: {args.rate:g} requests/s for {args.duration:g} s (ack latency, ms)")
    print(f"{'':6} {'sent':>6} {'errors':>6} {'p50':>7} {'p99':>7} {'max':>7} {'lag p99':>8} {'replies':>8} "
          f"{'caught up':>10}")
    for name in ("bot", "bare"):
        row = rows.get(name)
        if not row:
            continue
        ol: Result = row["open"]
        replies = f"{row['open_replies']}" if "open_replies" in row else "-"
        drain = f"{row['open_drain']:.2f} s" if "open_drain" in row else "-"
        print(f"{name:6} {len(ol.lags_ms):6d} {ol.error_count:6d} {pct(ol.latencies_ms, 50):7.2f} "
              f"{pct(ol.latencies_ms, 99):7.2f} {max(ol.latencies_ms, default=math.nan):7.2f} "
              f"{pct(ol.lags_ms, 99):8.2f} {replies:>8} {drain:>10}")
        if ol.errors:
            print(f"       errors: {ol.errors}")
    print()
    print(f"closed loop: {args.concurrency} concurrent senders for {args.seconds:g} s")
    print(f"{'':6} {'acked':>6} {'errors':>6} {'acked/s':>8} {'answered/s':>11} {'ack p50':>8} {'ack p99':>8} "
          f"{'replies':>8} {'CPU ms/ev':>10} {'RSS MB':>7}")
    for name in ("bot", "bare"):
        row = rows.get(name)
        if not row:
            continue
        cl: Result = row["closed"]
        replies = f"{row['closed_replies']}" if "closed_replies" in row else "-"
        print(f"{name:6} {len(cl.latencies_ms) - cl.error_count:6d} {cl.error_count:6d} {row['acked_per_s']:8.0f} "
              f"{row['answered_per_s']:11.0f} {pct(cl.latencies_ms, 50):8.2f} {pct(cl.latencies_ms, 99):8.2f} "
              f"{replies:>8} {row['cpu_ms_per_event']:10.2f} {row['rss_mb']:7.0f}")
        if cl.errors:
            print(f"       errors: {cl.errors}")
    if "bot" in rows and "bare" in rows:
        bot, bare = rows["bot"], rows["bare"]
        p99 = pct(bot["open"].latencies_ms, 99)
        ack_ratio = bot["acked_per_s"] / bare["acked_per_s"]
        answered_ratio = bot["answered_per_s"] / bare["acked_per_s"]
        print()
        print(f"target ack p99 < {P99_TARGET_MS:g} ms at {args.rate:g}/s, no errors: bot {p99:.1f} ms, "
              f"{bot['open'].error_count} errors -> {verdict(p99 < P99_TARGET_MS and not bot['open'].error_count)}")
        print(f"target throughput >= {RATIO_TARGET:g}x bare: acked {ack_ratio:.2f}x -> "
              f"{verdict(ack_ratio >= RATIO_TARGET)}; answered (ack + reply posted) {answered_ratio:.2f}x -> "
              f"{verdict(answered_ratio >= RATIO_TARGET)}")
        print(f"CPU per event, bare / bot: {bare['cpu_ms_per_event'] / bot['cpu_ms_per_event']:.2f}x (the events/s ratio "
              "with a core each)")
    print(f"(server logs were in {servers[0].log.parent}, now removed; load average {os.getloadavg()[0]:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run: 3 s open loop, 2 s closed loop")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop requests per second (100)")
    parser.add_argument("--duration", type=float, help="open-loop seconds (10; 3 with --quick)")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop senders (16)")
    parser.add_argument("--seconds", type=float, help="closed-loop seconds (5; 2 with --quick)")
    parser.add_argument("--warmup", type=int, help="events sent to each server before measuring (50; 20 quick)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds (10)")
    parser.add_argument("--drain", type=float, default=120.0,
                        help="how long to wait for the bot's replies to catch up after a phase (120 s)")
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "API_URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1])
        return 0
    args.duration = args.duration if args.duration is not None else (3.0 if args.quick else 10.0)
    args.seconds = args.seconds if args.seconds is not None else (2.0 if args.quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else (20 if args.quick else 50)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
