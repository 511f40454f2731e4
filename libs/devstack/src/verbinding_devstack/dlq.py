"""`verbinding dlq`: list a topic's dead letters with their errors, and send chosen ones (or all) back."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from verbinding_common.deadletter import DeadLetter, read_dead_letters, replay_dead_letters

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"  # the embedded stack's broker (make run)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="verbinding dlq", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--bootstrap-servers",
                        default=os.environ.get("VERBINDING_KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP),
                        help="the broker (env VERBINDING_KAFKA_BOOTSTRAP_SERVERS; default %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    listing = commands.add_parser("list", parents=[common],
                                  help="the dead letters of a topic, oldest first, with their errors")
    listing.add_argument("topic", help="the topic (or its .dlq)")
    replay = commands.add_parser(
        "replay", parents=[common],
        help="send dead letters back to their topic once the cause is fixed (consumers apply each once)")
    replay.add_argument("topic", help="the topic (or its .dlq)")
    chosen = replay.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--event-id", dest="event_ids", action="append", default=[], metavar="ID",
                        help="a dead letter's event id, repeatable")
    chosen.add_argument("--all", action="store_true", help="every dead letter not replayed yet")
    replay.add_argument("--again", action="store_true", help="also those replayed before")
    return parser


def _line(letter: DeadLetter) -> str:
    state = "replayed" if letter.replayed else "waiting"
    return "  ".join([letter.ref, letter.event_id or "-", letter.header("dlq.event_type") or "-", state,
                      letter.header("dlq.consumer_group") or "-", letter.header("dlq.error") or "-"])


async def _main(args: argparse.Namespace) -> int:
    if args.command == "list":
        letters = await read_dead_letters(args.bootstrap_servers, args.topic)
        print("partition:offset  event id  type  state  consumer group  error")
        for letter in letters:
            print(_line(letter))
        print(f"{len(letters)} dead letter(s), {sum(not d.replayed for d in letters)} not replayed")
        return 0
    report = await replay_dead_letters(args.bootstrap_servers, args.topic, event_ids=args.event_ids,
                                       every=args.all, again=args.again)
    for letter in report.replayed:
        print(f"replayed {letter.ref} {letter.event_id or '-'} to {letter.original_topic}")
    for letter in report.skipped:
        print(f"skipped {letter.ref} {letter.event_id or '-'}: replayed before (--again sends it anyway)")
    missing = set(args.event_ids) - {d.event_id for d in [*report.replayed, *report.skipped]}
    for event_id in sorted(missing):
        print(f"no dead letter with event id {event_id}", file=sys.stderr)
    return 1 if missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
