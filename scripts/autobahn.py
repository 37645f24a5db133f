#!/usr/bin/env python3
"""Runs the Autobahn TestSuite's cases (kosoku, a Python 3 runner of Autobahn's own case files)
against `confab serve --websocket-echo`: the server's own WebSocket stack, limits and timeouts,
behind an echo route (docs/SECURITY.md says why that measures the realtime endpoint's code).

    python3 scripts/autobahn.py [--binary PATH] [--report DIR]

Runs the whole suite (517 cases, a few seconds), prints the cases' counts by verdict, and exits
non-zero if any case failed. Cases whose messages are larger than the realtime frame limit
(256 KiB, 38 cases of section 9) cannot be echoed by design: they count as passed only if the
server refused them with close code 1009 (message too big), as RFC 6455 section 7.4.1 says,
and as failed otherwise. Sections 12 and 13 need permessage-deflate, which Confab does not
offer: kosoku reports them as unimplemented.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import subprocess
import sys
import tempfile
import time

try:
    import kosoku
except ImportError:
    sys.exit("kosoku is not installed: python3 -m pip install kosoku==0.1.0 (.ci/run does)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ECHO_PATH = "/_conformance/echo"
FRAME_LIMIT = 256 * 1024


def start_server(binary: str, data_dir: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
         "--log", "warn", "--websocket-echo"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    match = re.fullmatch(r"confab listening on http://(\S+)", line)
    if not match:
        proc.kill()
        sys.exit(f"confab serve did not say where it listens: {line!r}")
    return proc, f"ws://{match.group(1)}{ECHO_PATH}"


def over_limit(result) -> bool:
    """Whether the case sends a message over the frame limit: its description gives the size
    as `N * 2**K` ("payload of length 4 * 2**20 (4M)")."""
    sizes = re.findall(r"(\d+) \* 2\*\*(\d+)", result.description)
    return any(int(n) << int(k) > FRAME_LIMIT for n, k in sizes)


async def run(url: str, parallel: int):
    try:
        return await kosoku.run_fuzzingclient(url, concurrency=parallel)
    except kosoku.FailureError as failure:
        return failure.results


def kosoku_version() -> str:
    from importlib.metadata import version
    return version("kosoku")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "debug", "confab"))
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--report", help="write kosoku's HTML and JSON reports here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        proc, url = start_server(args.binary, data_dir)
        started = time.monotonic()
        try:
            results = asyncio.run(run(url, args.parallel))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        took = time.monotonic() - started

    counts: collections.Counter[str] = collections.Counter()
    failed = []
    refused_as_too_big = 0
    for r in results:
        if r.passed:
            counts[r.behavior.value] += 1
        elif r.behavior.value == "UNIMPLEMENTED":
            counts["UNIMPLEMENTED"] += 1
        elif over_limit(r) and r.remote_close_code == 1009:
            refused_as_too_big += 1
        else:
            counts["FAILED"] += 1
            failed.append(r)

    print(f"autobahn: {len(results)} cases in {took:.0f} s, kosoku {kosoku_version()}")
    for verdict in ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]:
        print(f"  {verdict:<14} {counts[verdict]}")
    print(f"  over the frame limit, refused with 1009: {refused_as_too_big}")
    for r in failed:
        print(f"FAILED {r.case_id}: {r.description}\n  {r.result} / {r.result_close}"
              f" (close {r.remote_close_code} {r.remote_close_reason!r})")
    if args.report:
        from kosoku._report import write_reports
        write_reports(results, args.report)
        print(f"reports in {args.report}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
