"""Cold-start init time of Lambda bootstraps, measured against a minimal Lambda runtime API.

    python3 scripts/bench-lambda-init.py DIR [RUNS]

DIR holds one folder per function with its `bootstrap` (as .aws-sam/build or cargo-lambda's
target/lambda). Each bootstrap is started RUNS times (default 5) with the environment of
`infra/emulator start` (read from stdin as KEY=VALUE lines) and AWS_LAMBDA_RUNTIME_API pointing
at this script's runtime API. Init is the time from the start of the process until it asks for
its first event (`GET .../invocation/next`): what Lambda bills as Init Duration. The first event
is an empty SQS batch for queue functions and `GET /health` for API functions; the time until its
response is the first invocation. Prints a Markdown table (medians).
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

API_EVENT = {
    "version": "2.0",
    "routeKey": "GET /health",
    "rawPath": "/health",
    "rawQueryString": "",
    "headers": {"host": "bench.execute-api.eu-central-1.amazonaws.com"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "bench",
        "domainName": "bench.execute-api.eu-central-1.amazonaws.com",
        "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
        "requestId": "bench",
        "routeKey": "GET /health",
        "stage": "$default",
        "time": "03/Mar/2025:09:00:00 +0000",
        "timeEpoch": 1740992400000,
    },
    "isBase64Encoded": False,
}
QUEUE_FUNCTIONS = {"xfamilie", "register-check", "certificate"}
SCHEDULED_FUNCTIONS = {"retention"}


class Runtime(http.server.BaseHTTPRequestHandler):
    """Hands out one event and records when the function asked for it and answered."""

    event = b"{}"
    asked = None
    answered = None
    done = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if Runtime.asked is None:
            Runtime.asked = time.monotonic()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-central-1:123456789012:function:bench")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(Runtime.event)
        else:
            # The second `next`: keep it waiting until the process is stopped.
            Runtime.done.wait(30)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        Runtime.answered = time.monotonic()
        self.send_response(202)
        self.end_headers()
        Runtime.done.set()


def measure(bootstrap, name, env):
    Runtime.event = json.dumps(
        {"Records": []} if name in QUEUE_FUNCTIONS else {} if name in SCHEDULED_FUNCTIONS else API_EVENT
    ).encode()
    Runtime.asked = Runtime.answered = None
    Runtime.done.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **env,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
        "PUBLIC_BASE_URL": "https://sorgeregister.example",
        "PATH": os.environ["PATH"],
    }
    started = time.monotonic()
    process = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    Runtime.done.wait(30)
    process.kill()
    _, stderr = process.communicate()
    server.shutdown()
    server.server_close()
    if Runtime.asked is None or Runtime.answered is None:
        raise SystemExit(f"{name}: no answer\n{stderr.decode(errors='replace')}")
    return (Runtime.asked - started) * 1000, (Runtime.answered - Runtime.asked) * 1000


def main():
    folder = Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    env = dict(line.split("=", 1) for line in sys.stdin.read().splitlines() if "=" in line)
    print("| function | bootstrap | init (median) | first invocation (median) |")
    print("|---|---:|---:|---:|")
    for bootstrap in sorted(folder.glob("*/bootstrap")):
        name = bootstrap.parent.name
        name = name.removesuffix("Function").lower() if name.endswith("Function") else name
        name = {"registerapi": "register-api", "registercheck": "register-check"}.get(name, name)
        times = [measure(bootstrap, name, env) for _ in range(runs)]
        init = statistics.median(t[0] for t in times)
        first = statistics.median(t[1] for t in times)
        size = bootstrap.stat().st_size / 1e6
        print(f"| {name} | {size:.1f} MB | {init:.0f} ms | {first:.0f} ms |")


if __name__ == "__main__":
    main()
