"""`deepfake-detect worker`, `db upgrade|current` and `keys create|list|revoke`.

deepfake-detect worker                     # one more worker process on DATABASE_URL + DATA_DIR
deepfake-detect db upgrade                 # migrations (the server also runs them at start-up)
deepfake-detect keys create newsroom --rate-limit 60/minute
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

log = logging.getLogger("deepfake_detect.jobs")


def _settings(args: argparse.Namespace):
    from ..config import Settings

    overrides = {}
    if getattr(args, "model", None):
        overrides["model_path"] = args.model
    return Settings(**overrides)


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    import torch

    from ..errors import DetectorError
    from ..memory import tune_malloc
    from ..metrics import Metrics
    from ..pipeline import Detector
    from .runtime import JobsRuntime

    settings = _settings(args)
    tune_malloc()
    torch.set_num_threads(settings.torch_threads or max(1, (os.cpu_count() or 1) // args.threads))
    try:
        detector = Detector.from_settings(settings)
    except DetectorError as e:
        print(f"error: {e.detail}", file=sys.stderr)
        return 2
    if settings.warmup:
        detector.warmup()
    metrics = Metrics()
    metrics.set_model(detector.model_id)
    runtime = JobsRuntime(settings, lambda: detector, metrics)
    metrics.watch_jobs(runtime.store.counts_by_state)
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, registry=metrics.registry)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start(workers=args.threads)
    print(
        f"worker {runtime.name}: {args.threads} thread(s) on {runtime.database}", file=sys.stderr, flush=True
    )
    while not stop.wait(settings.job_poll_s):
        if args.exit_when_idle and _idle(runtime):
            break
    runtime.stop()
    return 0


def _idle(runtime) -> bool:
    counts = runtime.store.counts_by_state()
    return not counts.get("queued") and not counts.get("running") and not any(w.held for w in runtime.workers)


def cmd_db(args: argparse.Namespace) -> int:
    from .db import current_revision, database_url, head_revision, make_engine, safe_url, upgrade

    url = database_url(_settings(args))
    engine = make_engine(url)
    if args.action == "upgrade":
        revision = upgrade(engine)
        print(f"{safe_url(url)}: at revision {revision} (head {head_revision()})")
    else:
        print(f"{safe_url(url)}: at revision {current_revision(engine)} (head {head_revision()})")
    engine.dispose()
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from ..errors import DetectorError
    from .db import database_url, make_engine, upgrade
    from .keys import KeyRing
    from .store import JobStore

    settings = _settings(args)
    engine = make_engine(database_url(settings))
    upgrade(engine)
    ring = KeyRing(JobStore(engine), settings.api_keys_file)
    try:
        if args.action == "create":
            if args.rate_limit:
                from limits import parse

                parse(args.rate_limit)  # refuse a malformed rate now, not on every request
            token, secret = ring.create(args.name, args.rate_limit)
            print(json.dumps({"name": args.name, "key": token, "webhook_secret": secret}, indent=2))
            print("Store both now: the key is kept only as a hash.", file=sys.stderr)
        elif args.action == "revoke":
            if not ring.revoke(args.name):
                print(f"error: no active key named {args.name!r} in the database", file=sys.stderr)
                return 1
            print(f"revoked {args.name}")
        else:
            for row in ring.listing():
                print(json.dumps(row))
    except (DetectorError, ValueError) as e:
        print(f"error: {getattr(e, 'detail', e)}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def cmd_receive(args: argparse.Namespace) -> int:
    """A webhook receiver for trying the flow on one machine: verifies and prints each delivery."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from .webhooks import verify

    configured = _settings(args).webhook_secret
    secret: str = args.secret or (configured.get_secret_value() if configured else "")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            signed = bool(secret) and verify(secret, self.headers, body)
            try:
                job = json.loads(body)["job"]
                summary = (
                    f"job {job['id']} {job['state']} {job.get('prediction')} p={job.get('fake_probability')}"
                )
            except (ValueError, KeyError, TypeError):
                summary = f"{len(body)} bytes, not a job"
            event = self.headers.get("X-Deepfake-Event")
            print(f"{event} {summary} signature={'valid' if signed else 'INVALID'}", flush=True)
            self.send_response(204 if signed else 401)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{args.port}/ (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    worker = sub.add_parser("worker", help="run job workers against DATABASE_URL and DATA_DIR")
    worker.add_argument("--threads", type=int, default=1, help="worker threads in this process (default 1)")
    worker.add_argument("--model", help="checkpoint (default: $MODEL_PATH, else the bundled model)")
    worker.add_argument("--metrics-port", type=int, help="serve this process's Prometheus metrics here")
    worker.add_argument("--exit-when-idle", action="store_true", help="stop once no job is queued or running")
    worker.set_defaults(func=cmd_worker)

    db = sub.add_parser("db", help="the jobs database: upgrade (run migrations) or current")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)

    keys = sub.add_parser("keys", help="API keys stored (hashed) in the jobs database")
    keys.add_argument("action", choices=["create", "list", "revoke"])
    keys.add_argument("name", nargs="?")
    keys.add_argument("--rate-limit", help='e.g. "60/minute" (default: $RATE_LIMIT)')
    keys.set_defaults(func=_keys_checked(keys))

    receive = sub.add_parser(
        "webhook-receiver", help="print (and verify) webhook deliveries, for trying it out"
    )
    receive.add_argument("--host", default="127.0.0.1")
    receive.add_argument("--port", type=int, default=9000)
    receive.add_argument("--secret", help="signing secret (default: $WEBHOOK_SECRET)")
    receive.set_defaults(func=cmd_receive)


def _keys_checked(parser: argparse.ArgumentParser):
    def run(args: argparse.Namespace) -> int:
        if args.action in ("create", "revoke") and not args.name:
            parser.error(f"keys {args.action} needs a NAME")
        return cmd_keys(args)

    return run
