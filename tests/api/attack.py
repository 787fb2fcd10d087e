#!/usr/bin/env python3
"""Generated attacks on /api/v1: Schemathesis against the local runtime, once per persona.

Starts the runtime binary (argv[1]) on a fresh data directory with the demo offices, gets each
persona's token from the development identity provider, submits one application so that the
office's inbox has a request to reach, and runs Schemathesis with a fixed seed and a bounded
number of cases per operation. Checks: not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance. Prints one line per persona and exits
non-zero on any failure; reports go to tests/output/schemathesis/.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261201
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# (persona or None for no token, the tags of the operations it is tried on, cases per operation).
# Every run but the public one also walks the document's links (stateful phase); public
# operations link nowhere.
RUNS = [
    (None, ["public"], 40),
    ("mother", ["citizen"], 30),
    ("staff-bremen", ["office", "register"], 30),
    ("machine-bremen", ["office", "register"], 20),
    ("register-bremen", ["register"], 20),
    ("admin", ["operator", "register"], 30),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, data, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_until_up(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the runtime exited with {process.returncode}")
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("the runtime did not answer /health within 60 s")


def summary(output: str) -> str:
    cases = re.search(r"(\d+) generated, (.*)", output)
    return cases.group(0) if cases else "no summary"


def main() -> int:
    binary = sys.argv[1]
    schemathesis = Path(sys.executable).with_name("schemathesis")
    reports = ROOT / "tests/output/schemathesis"
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    data_dir = tempfile.mkdtemp(prefix="sorgeregister-attack-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PORT": str(port), "DATA_DIR": data_dir, "RUST_LOG": "warn"}
    log = open(reports / "runtime.log", "w")
    runtime = subprocess.Popen([binary], env=env, stdout=log, stderr=log)
    failed = False
    try:
        wait_until_up(base, runtime)
        tokens = {p: call(base, "POST", "/dev/login", {"persona": p})["token"] for p, _, _ in RUNS if p}
        document = call(base, "GET", "/api/v1/openapi.json")
        example = document["components"]["schemas"]["SubmissionBody"]["example"]
        call(base, "POST", "/api/v1/requests", example, tokens["mother"])
        for persona, tags, examples in RUNS:
            name = persona or "anonymous"
            command = [
                str(schemathesis), "run", f"{base}/api/v1/openapi.json",
                "--checks", CHECKS, "--seed", str(SEED), "--max-examples", str(examples),
                "--generation-database", "none", "--workers", "1", "--no-color",
                "--report", "junit", "--report-junit-path", str(reports / f"{name}.xml"),
            ]
            for tag in tags:
                command += ["--include-tag", tag]
            phases = "examples,coverage,fuzzing" + (",stateful" if persona else "")
            command += ["--phases", phases]
            if persona:
                command += ["--header", f"Authorization: Bearer {tokens[persona]}"]
            started = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True)
            (reports / f"{name}.txt").write_text(result.stdout + result.stderr)
            seconds = time.monotonic() - started
            verdict = "ok" if result.returncode == 0 else "FAILED"
            print(f"schemathesis {name:15} {','.join(tags):18} {summary(result.stdout)} ({seconds:.0f} s) {verdict}")
            if result.returncode != 0:
                failed = True
                print(result.stdout[-6000:])
        if runtime.poll() is not None:
            print(f"the runtime died during the run (exit {runtime.returncode})")
            failed = True
    finally:
        runtime.terminate()
        runtime.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
