"""The command line: `python -m devstack.kafka [--cluster] install|start|wait|stop|status|kill`."""

# Standard library only: this runs before any `pip install`, with any Python 3.11.

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devstack.kafka.config import VAR, DevstackError
from devstack.kafka.control import kill, start, status, stop, wait
from devstack.kafka.install import install
from devstack.kafka.layout import CLUSTER_VAR, Cluster, single_node, three_nodes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.kafka",
        description=f"Kafka (KRaft) for local development: one node, state under {VAR}, ports "
        "HUB_KAFKA_PORT (9092) and HUB_KAFKA_CONTROLLER_PORT (9093); or with --cluster three "
        f"nodes, state under {CLUSTER_VAR}, ports from HUB_CLUSTER_PORT (19092-19094) and "
        "HUB_CLUSTER_CONTROLLER_PORT (19192-19194).",
    )
    parser.add_argument("--cluster", action="store_true", help="three nodes instead of one")
    parser.add_argument("--home", type=Path, help="keep the state here instead (tests)")
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="fetch the Kafka jars, if outdated")
    install_cmd.add_argument("--force", action="store_true", help="fetch even if up to date")
    start_cmd = commands.add_parser("start", help="start the broker(s) (or reuse) and wait")
    start_cmd.add_argument("--timeout", type=float, default=90.0, help="readiness deadline, s (90)")
    wait_cmd = commands.add_parser("wait", help="wait until every broker answers metadata")
    wait_cmd.add_argument("--timeout", type=float, default=90.0, help="deadline, s (90)")
    stop_cmd = commands.add_parser("stop", help="stop the broker(s) started by `start`")
    stop_cmd.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL (30)")
    commands.add_parser("status", help="exit 0 if every broker answers, 1 otherwise")
    kill_cmd = commands.add_parser("kill", help="SIGKILL one node (a crash); `start` restarts it")
    kill_cmd.add_argument("node", type=int, help="node id (1 for the single node)")
    return parser


def _layout(args: argparse.Namespace) -> Cluster:
    if args.cluster:
        return three_nodes(args.home or CLUSTER_VAR)
    return single_node(args.home or VAR)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cluster = _layout(args)
        match args.command:
            case "install":
                install(force=args.force)
                return 0
            case "start":
                return start(cluster, args.timeout)
            case "wait":
                return wait(cluster, args.timeout)
            case "stop":
                return stop(cluster, args.timeout)
            case "kill":
                return kill(cluster, args.node)
            case _:
                return status(cluster)
    except DevstackError as exc:
        print(f"kafka: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130
