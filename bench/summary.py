"""The one table of every target of the benchmarks' last results (bench/results/*.json)."""

from __future__ import annotations

import json
import sys

from bench.stack import RESULTS


def main() -> None:
    rows = []
    machines = set()
    for path in sorted(RESULTS.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        machines.add(document.get("machine", "?"))
        for target in document.get("targets", []):
            value = target["value"]
            shown = "n/a" if value is None else f"{value:,.3f}".rstrip("0").rstrip(".")
            unit = f" {target['unit']}" if target.get("unit") else ""
            rows.append((target["name"], f"{shown}{unit}", target["target"], target["verdict"]))
    if "--markdown" in sys.argv:  # the README's table
        print("| target | measured | wanted | verdict |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        print("\n== summary (bench/results) ==")
        width = max((len(row[0]) for row in rows), default=10)
        print(f"{'target':<{width}}  {'measured':>14}  {'wanted':>10}  verdict")
        for name, value, wanted, verdict in rows:
            print(f"{name:<{width}}  {value:>14}  {wanted:>10}  {verdict}")
    for machine in sorted(machines):
        print(f"\nmachine: {machine}")


if __name__ == "__main__":
    main()
