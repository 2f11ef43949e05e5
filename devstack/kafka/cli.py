"""The command line: `python -m devstack.kafka install|start|wait|stop|status`."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import argparse
import sys

from devstack.kafka.config import VAR, DevstackError
from devstack.kafka.control import start, status, stop, wait
from devstack.kafka.install import install


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.kafka",
        description=f"Single-node Kafka (KRaft) for local development; state under {VAR}. "
        "Ports: HUB_KAFKA_PORT (default 9092), HUB_KAFKA_CONTROLLER_PORT (default 9093).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="fetch the Kafka jars, if outdated")
    install_cmd.add_argument("--force", action="store_true", help="fetch even if up to date")
    start_cmd = commands.add_parser("start", help="start the broker (or reuse one) and wait for it")
    start_cmd.add_argument("--timeout", type=float, default=90.0, help="readiness deadline, s (90)")
    wait_cmd = commands.add_parser("wait", help="wait until a broker answers metadata requests")
    wait_cmd.add_argument("--timeout", type=float, default=90.0, help="deadline, s (90)")
    stop_cmd = commands.add_parser("stop", help="stop the broker started by `start`")
    stop_cmd.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL (30)")
    commands.add_parser("status", help="exit 0 if a broker answers, 1 otherwise")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        match args.command:
            case "install":
                install(force=args.force)
                return 0
            case "start":
                return start(args.timeout)
            case "wait":
                return wait(args.timeout)
            case "stop":
                return stop(args.timeout)
            case _:
                return status()
    except DevstackError as exc:
        print(f"kafka: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
