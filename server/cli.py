"""The ``salesgate`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from server.settings import Settings, SettingsError, load_settings, read_dotenv


def _settings() -> Settings:
    try:
        env = {**read_dotenv(Path(".env")), **os.environ}
        return load_settings(env)
    except SettingsError as exc:
        print(f"salesgate: setting error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def _with_db(settings: Settings, fn, *, migrate: bool = True):
    from server import db

    engine = db.build_engine(settings)
    if migrate:
        await db.migrate(engine)
    async with db.lifespan_engine(engine):
        return await fn()


def cmd_migrate(args) -> int:
    from server import db

    settings = _settings()
    asyncio.run(db.migrate(db.build_engine(settings)))
    print("migrations applied")
    return 0


def cmd_user_add(args) -> int:
    from server.domain.access import parse_roles
    from server.queries import users

    settings = _settings()
    if not args.password_stdin:
        print("salesgate: give the password on standard input with --password-stdin", file=sys.stderr)
        return 2
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        roles = parse_roles(args.roles)
    except ValueError as exc:
        print(f"salesgate: --roles: {exc}", file=sys.stderr)
        return 2

    async def run():
        return await users.create_user(username=args.username, password=password, roles=roles,
                                       display_name=args.display_name, team=args.team,
                                       manager_username=args.manager)
    try:
        user = asyncio.run(_with_db(settings, run))
    except users.UserError as exc:
        print(f"salesgate: {exc}", file=sys.stderr)
        return 1
    print(f"user {user.username} created ({', '.join(roles)}) id={user.id}")
    return 0


def cmd_jobs_run_once(args) -> int:
    from server import jobs

    settings = _settings()
    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"salesgate: --now: not an ISO time: {args.now!r}", file=sys.stderr)
            return 2
        if now.tzinfo is None:
            now = now.replace(tzinfo=settings.tz)
        now = now.astimezone(timezone.utc)
    from server.app import build_storage

    deps = jobs.Deps.build(settings, storage=build_storage(settings))
    results = asyncio.run(_with_db(settings, lambda: jobs.run_once(now, deps)))
    for name, summary in results:
        print(f"{name}: {summary}")
    return 0


def cmd_jobs_worker(args) -> int:
    from server import jobs

    settings = _settings()
    stop = asyncio.Event()
    print("salesgate jobs worker running; Ctrl-C stops it")
    try:
        from server.app import build_storage

        asyncio.run(_with_db(settings, lambda: jobs.loop(stop, jobs.Deps.build(settings, storage=build_storage(settings)))))
    except KeyboardInterrupt:
        pass
    return 0


def _start_local_s3(settings: Settings):
    from server.adapters import local_s3

    proc, info = local_s3.start(Path(settings.media_dir) / "weed", Path(settings.var_dir) / "weed.log")
    settings = msgspec.structs.replace(settings, s3_endpoint=info.endpoint, s3_access_key=info.access_key,
                                       s3_secret_key=info.secret_key, s3_secure=False)
    print(f"local object store (weed mini) on http://{info.endpoint}, data in {settings.media_dir}/weed")
    return proc, settings


def _uvicorn_server_class():
    import contextlib

    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM after its graceful shutdown, which would end this process
        before it stops the bundled storage server (systemd and `docker stop` send SIGTERM): the
        shutdown has happened by then, so the signal is not raised again and `serve` cleans up."""

        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    return Server


# How long an idle keep-alive connection stays open. uvicorn's default, 5 s, is shorter than the pause
# between two taps: the load test's users (5-15 s think time) reused connections the server was just
# closing and got "connection reset by peer" (6 of 12,697 requests, POSTs among them). Browsers keep
# idle connections longer than that; so does a reverse proxy in front of the app (nginx: 75 s).
KEEP_ALIVE_SECONDS = 75


def cmd_serve(args) -> int:
    import uvicorn

    from server import db, demo
    from server.app import create_app
    from server.domain.playbook import PlaybookInvalid

    settings = _settings()
    if args.port:
        settings = msgspec.structs.replace(settings, port=args.port)
    _Server = _uvicorn_server_class()
    proc = None
    try:
        if not settings.s3_endpoint:
            proc, settings = _start_local_s3(settings)
        engine = db.build_engine(settings)
        asyncio.run(db.migrate(engine))
        if args.demo:
            loaded = asyncio.run(_with_db(settings, demo.load, migrate=False))
            print("demo organisation loaded" if loaded else "demo organisation already present")
            print(f"demo logins (password {demo.DEMO_PASSWORD!r}): admin, wang.manager, zhang.wei, sun.presales")
        try:
            app = create_app(settings, run_jobs=not args.no_jobs)
        except PlaybookInvalid as exc:
            for problem in exc.problems:
                print(f"salesgate: playbook: {problem}", file=sys.stderr)
            return 2
        scheme = "https" if args.tls else "http"
        print(f"Salesgate on {scheme}://{settings.host}:{settings.port}")
        config = uvicorn.Config(app, host=settings.host, port=settings.port, proxy_headers=True,
                                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                                log_level=settings.log_level.lower(), server_header=False,
                                ssl_certfile=args.tls[0] if args.tls else None,
                                ssl_keyfile=args.tls[1] if args.tls else None)
        _Server(config).run()
    except KeyboardInterrupt:
        pass
    finally:
        if proc is not None:
            from server.adapters import local_s3

            local_s3.stop(proc)
    return 0


def cmd_demo_generate(args) -> int:
    from server import db, generator
    from server.app import build_storage
    from server.domain.playbook import PlaybookInvalid
    from server.playbook_loader import load_playbook, playbook_path

    settings = _settings()
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    if args.now:
        try:
            now = datetime.fromisoformat(args.now)
        except ValueError:
            print(f"salesgate: --now: not an ISO time: {args.now!r}", file=sys.stderr)
            return 2
        now = (now if now.tzinfo else now.replace(tzinfo=settings.tz)).astimezone(timezone.utc)
    overrides = {k: getattr(args, k) for k in ("teams", "reps_per_team", "customers", "open", "closed", "activities")}
    bad = [f"--{k.replace('_', '-')}" for k, v in overrides.items() if v is not None and v < (1 if k in (
        "teams", "reps_per_team", "customers") else 0)]
    if bad:
        print(f"salesgate: {', '.join(bad)}: must be a positive number", file=sys.stderr)
        return 2
    scale = generator.scale_with(args.scale, **overrides)
    try:
        pb = load_playbook(playbook_path(settings))
    except PlaybookInvalid as exc:
        for problem in exc.problems:
            print(f"salesgate: playbook: {problem}", file=sys.stderr)
        return 2

    async def emptied() -> bool:
        """False when the database holds data and --force was not given; with --force, empty it."""
        engine = db.build_engine(settings)
        await db.migrate(engine)
        async with db.lifespan_engine(engine):
            if not await generator.has_data():
                return True
            if not args.force:
                return False
            if settings.is_sqlite:
                engine = None
            else:
                from server.tables import ALL_TABLES

                names = ", ".join(f'"{t._meta.tablename}"' for t in ALL_TABLES)
                await db.current_engine().run_ddl(f"TRUNCATE {names} CASCADE")
        if settings.is_sqlite:  # a fresh file: SQLite cannot truncate past the append-only triggers
            for suffix in ("", "-wal", "-shm"):
                Path(settings.sqlite_path + suffix).unlink(missing_ok=True)
            await db.migrate(db.build_engine(settings))
        print("--force: the existing data was removed")
        return True

    if not asyncio.run(emptied()):
        print("salesgate: the database already holds data (users or customers); generating into it would mix "
              "the two. Use an empty database, or --force to delete everything in it first.", file=sys.stderr)
        return 1
    proc = None
    try:
        if not settings.s3_endpoint:
            proc, settings = _start_local_s3(settings)
        storage = build_storage(settings)

        async def run():
            summary = await generator.generate(settings=settings, pb=pb, scale=scale, seed=args.seed, now=now,
                                               storage=storage, plan=not args.no_plan,
                                               progress=lambda line: print(line, flush=True))
            return summary, (await generator.digest() if args.digest else None)
        summary, digest = asyncio.run(_with_db(settings, run, migrate=False))
    finally:
        if proc is not None:
            from server.adapters import local_s3

            local_s3.stop(proc)
    counts = ", ".join(f"{k} {v:,}" for k, v in summary["counts"].items())
    print(f"generated in {summary['seconds']:.0f} s: {counts}")
    if digest:
        print(f"digest {digest}")
    print(f"demo logins (password {generator.DEMO_PASSWORD!r}): {', '.join(summary['logins'])} "
          f"(managers mgr00…, reps rep000…, presales00…, delivery00…, commercial00…, legal00…)")
    return 0


def cmd_playbook_check(args) -> int:
    from server.domain.playbook import PlaybookInvalid
    from server.playbook_loader import load_playbook

    try:
        pb = load_playbook(Path(args.file))
    except PlaybookInvalid as exc:
        for problem in exc.problems:
            where = f"{args.file}:{problem.line}" if problem.line else args.file
            print(f"{where}: {problem.message} (at {problem.path})")
        print(f"{len(exc.problems)} problem(s); the playbook was not accepted", file=sys.stderr)
        return 1
    print(f"{args.file}: OK, version {pb.version}: {len(pb.stages)} stages, {len(pb.nodes)} nodes, "
          f"{len(pb.templates)} templates")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="salesgate", description="Salesgate: rules instead of nagging.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, start the local object store if needed, serve")
    serve.add_argument("--demo", action="store_true", help="load the demo organisation once")
    serve.add_argument("--port", type=int, help="override SALESGATE_PORT")
    serve.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help="serve HTTPS with this certificate")
    serve.add_argument("--no-jobs", action="store_true",
                       help="do not run the periodic jobs in this process (several app processes with one "
                            "`salesgate jobs worker`)")
    serve.set_defaults(fn=cmd_serve)

    sub.add_parser("migrate", help="apply migrations").set_defaults(fn=cmd_migrate)

    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_command", required=True)
    add = user.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.add_argument("--roles", required=True, help="comma-separated: rep,manager,presales,...")
    add.add_argument("--team")
    add.add_argument("--manager", help="username of the direct manager")
    add.add_argument("--display-name")
    add.set_defaults(fn=cmd_user_add)

    jobs = sub.add_parser("jobs", help="periodic jobs").add_subparsers(dest="jobs_command", required=True)
    once = jobs.add_parser("run-once", help="run every periodic job once")
    once.add_argument("--now", help="ISO time to run as (default: now)")
    once.set_defaults(fn=cmd_jobs_run_once)
    jobs.add_parser("worker", help="run the periodic jobs in a loop").set_defaults(fn=cmd_jobs_worker)

    demo = sub.add_parser("demo", help="demonstration data").add_subparsers(dest="demo_command", required=True)
    gen = demo.add_parser("generate", help="build a deterministic organisation-scale dataset (bulk loaded)")
    gen.add_argument("--scale", choices=["org", "small"], default="org",
                     help="org: 200 reps in 20 teams, 60,000 customers, 20,000 open deals, 1.5 M activities; "
                          "small: a few seconds' worth")
    gen.add_argument("--seed", type=int, default=1, help="same seed and --now: the same data")
    gen.add_argument("--now", help="ISO time the data is built around (default: the start of this hour)")
    for name in ("teams", "reps-per-team", "customers", "open", "closed", "activities"):
        gen.add_argument(f"--{name}", type=int, help=f"override the scale's number of {name.replace('-', ' ')}")
    gen.add_argument("--force", action="store_true", help="delete everything in a non-empty database first")
    gen.add_argument("--no-plan", action="store_true",
                     help="leave the node clocks for the deadline job to plan (default: planned here)")
    gen.add_argument("--digest", action="store_true", help="print a digest of the generated rows")
    gen.set_defaults(fn=cmd_demo_generate)

    playbook = sub.add_parser("playbook", help="the process definition").add_subparsers(
        dest="playbook_command", required=True)
    check = playbook.add_parser("check", help="validate a playbook file and explain each error with its line")
    check.add_argument("file")
    check.set_defaults(fn=cmd_playbook_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.fn(args) or 0


if __name__ == "__main__":
    raise SystemExit(main())
