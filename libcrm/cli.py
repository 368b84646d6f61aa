"""Command line: ``python -m libcrm demo|db|keygen|serve|account|...``."""

from __future__ import annotations

import argparse
import logging
import stat
import sys

from libcrm import config, db, settings
from libcrm.privacy.access import export_json
from libcrm.privacy.rotation import RotationError, rotate
from libcrm.tooling import bench, demo, localdb


def _db(args: argparse.Namespace) -> int:
    cluster = localdb.Cluster(config.state_dir() / "pg")
    if args.action == "stop":
        localdb.stop_cluster(cluster)
        print("embedded PostgreSQL stopped")
    else:
        print(localdb.ensure_embedded())
    return 0


def _keygen(args: argparse.Namespace) -> int:
    path = args.path or config.default_key_file()
    existed = path.exists()
    config.write_key_file(path)
    mode = f"mode {stat.S_IMODE(path.stat().st_mode):04o}"
    done = "kept the existing" if existed else "wrote a new"
    where = "in" if existed else "to"
    print(f"{done} pseudonym key {where} {path} ({mode}); set LIBCRM_PSEUDONYM_KEY_FILE={path}")
    warning = config.loose_key_file_warning(path)
    if warning:
        print(f"WARNING: {warning}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    return demo.run(scale=args.scale, days=args.days, profile=args.profile)


def _access(args: argparse.Namespace) -> int:
    with db.connect() as conn:
        text = export_json(conn, args.patron_id)
    if args.out:
        args.out.write_text(text + "\n")
        args.out.chmod(0o600)
        print(f"wrote everything held about {args.patron_id} to {args.out}")
    else:
        print(text)
    return 0


def _rotate_key(args: argparse.Namespace) -> int:
    old = config.read_key_file(args.old_key_file, "--old-key-file")
    new = config.read_key_file(args.new_key_file, "--new-key-file")
    try:
        with db.connect() as conn:
            changed = rotate(conn, old, new, f"--old-key-file {args.old_key_file}")
    except (RotationError, config.ConfigError) as error:
        print(f"libcrm: key rotation refused, nothing changed: {error}", file=sys.stderr)
        return 2
    for table, rows in changed.items():
        print(f"  {table}: {rows:,} rows re-keyed")
    print(f"done: set LIBCRM_PSEUDONYM_KEY_FILE={args.new_key_file} before the next run")
    return 0


def _serve(args: argparse.Namespace) -> int:
    # Imported here: the web stack is not loaded for the other commands.
    import uvicorn

    from libcrm.server import create_app

    configured = settings.load()
    host, port = configured.workspace_host, configured.workspace_port
    print(
        f"libcrm workspace on http://{host}:{port}/, portal API on http://{host}:{port}/api/v1/"
        " (Ctrl-C stops it)",
        flush=True,
    )
    uvicorn.run(create_app(), host=host, port=port, log_level="warning", proxy_headers=False)
    return 0


def _account(args: argparse.Namespace) -> int:
    from libcrm.workspace import accounts

    password = args.password_file.read_text().strip() if args.password_file else None
    password = password or accounts.new_password()
    with db.connect() as conn:
        try:
            accounts.create_account(
                conn, args.username, args.role, password, "command line", args.display_name
            )
        except accounts.AccountError as error:
            print(f"libcrm: {error}", file=sys.stderr)
            return 2
    if args.password_file:
        print(
            f"created {args.role} account {args.username} with the password in {args.password_file}"
        )
    else:
        print(f"created {args.role} account {args.username}; its password (shown once): {password}")
    return 0


def _api_token(args: argparse.Namespace) -> int:
    from libcrm.api import tokens

    with db.connect() as conn:
        try:
            if args.list:
                for client in tokens.clients(conn):
                    state = (
                        f"revoked {client.revoked_at:%Y-%m-%d %H:%M}"
                        if client.revoked_at
                        else "live"
                    )
                    print(f"{client.client}\tcreated {client.created_at:%Y-%m-%d %H:%M}\t{state}")
                return 0
            if not args.client:
                print("libcrm: api-token needs --client NAME (or --list)", file=sys.stderr)
                return 2
            if args.revoke:
                tokens.revoke(conn, args.client)
                print(f"revoked the portal API token of {args.client}")
                return 0
            token = tokens.issue(conn, args.client)
        except tokens.TokenError as error:
            print(f"libcrm: {error}", file=sys.stderr)
            return 2
    if args.out:
        args.out.write_text(token + "\n")
        args.out.chmod(0o600)
        print(f"wrote a new portal API token for {args.client} to {args.out} (mode 0600)")
    else:
        print(f"portal API token for {args.client} (shown once; send as Authorization: Bearer):")
        print(token)
    return 0


def _bench(args: argparse.Namespace) -> int:
    return bench.run(args.scales.split(","))


def _bench_workspace(args: argparse.Namespace) -> int:
    from libcrm.tooling import bench_workspace

    return bench_workspace.run(args.scale, args.rounds)


def _bench_api(args: argparse.Namespace) -> int:
    from libcrm.tooling import bench_api

    return bench_api.run(args.scale, args.rate, args.seconds, args.base)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run a command; print a clear error instead of a traceback."""
    parser = argparse.ArgumentParser(prog="libcrm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_command = commands.add_parser("demo", help="simulate a library and run library_nightly")
    demo_command.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    demo_command.add_argument("--days", type=int, default=3, help="consecutive nightly runs")
    demo_command.add_argument(
        "--profile",
        default="default",
        help="the kind of library the simulator draws (libcrm/tooling/simulate/profiles.py)",
    )
    demo_command.set_defaults(handler=_demo)
    database = commands.add_parser("db", help="the embedded PostgreSQL under .local/pg")
    database.add_argument("action", choices=["start", "stop"])
    database.set_defaults(handler=_db)
    keygen = commands.add_parser("keygen", help="write a new pseudonym key file")
    keygen.add_argument(
        "--path", type=config.Path, default=None, help="default: pseudonym.key in the state folder"
    )
    keygen.set_defaults(handler=_keygen)
    bench_command = commands.add_parser("bench", help="time each nightly stage at several scales")
    bench_command.add_argument("--scales", default="small,medium", help="comma-separated")
    bench_command.set_defaults(handler=_bench)
    pages = commands.add_parser("bench-workspace", help="time every workspace page (p50, p95)")
    pages.add_argument("--scale", default="small", help="the library's scale, for the record")
    pages.add_argument("--rounds", type=int, default=30)
    pages.set_defaults(handler=_bench_workspace)
    load = commands.add_parser(
        "bench-api", help="the portal API's recommendations endpoint at a fixed rate (p50-p99)"
    )
    load.add_argument("--scale", default="small", help="the library's scale, for the record")
    load.add_argument("--rate", type=float, default=200.0, help="requests per second")
    load.add_argument("--seconds", type=float, default=60.0)
    load.add_argument("--base", help="an API server already running (default: start one)")
    load.set_defaults(handler=_bench_api)
    access = commands.add_parser("access", help="export everything held about one patron (JSON)")
    access.add_argument("--patron-id", required=True)
    access.add_argument("--out", type=config.Path, help="file to write (mode 0600); else stdout")
    access.set_defaults(handler=_access)
    rotate = commands.add_parser("rotate-key", help="re-key every user_key to a new secret")
    rotate.add_argument("--old-key-file", type=config.Path, required=True)
    rotate.add_argument("--new-key-file", type=config.Path, required=True)
    rotate.set_defaults(handler=_rotate_key)
    api_token = commands.add_parser(
        "api-token", help="make (or revoke, list) a portal API client's token"
    )
    api_token.add_argument("--client", help="the client's name, e.g. portal")
    api_token.add_argument("--revoke", action="store_true", help="refuse the client's token")
    api_token.add_argument("--list", action="store_true", help="list the clients")
    api_token.add_argument(
        "--out", type=config.Path, help="write the token to this file (mode 0600), not stdout"
    )
    api_token.set_defaults(handler=_api_token)
    serve = commands.add_parser("serve", help="serve the librarians' workspace and the portal API")
    serve.set_defaults(handler=_serve)
    account = commands.add_parser("account", help="create a workspace account")
    account.add_argument("--username", required=True)
    account.add_argument("--role", required=True, choices=["librarian", "outreach", "admin"])
    account.add_argument("--display-name")
    account.add_argument(
        "--password-file",
        type=config.Path,
        help="file holding the password; default: a random one, printed once",
    )
    account.set_defaults(handler=_account)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except (config.ConfigError, localdb.EmbeddedDatabaseError) as error:
        print(f"libcrm: {error}", file=sys.stderr)
        return 2
