"""What the Python test scripts share: running their test_* functions in
name order (each failure printed with its traceback, the exit status 1 when
any failed), a free TCP port on 127.0.0.1 for a service of their own, and
a command on a live run's DPDK telemetry socket."""
import json
import socket
import sys
import traceback


def run_tests(namespace):
    """Runs every test_* function of `namespace` (a script's globals())."""
    tests = [(n, f) for n, f in sorted(namespace.items()) if n.startswith("test_")]
    failed = 0
    for name, fn in tests:
        try:
            fn()
            print(f"ok   {name}")
        except Exception:
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def telemetry(prefix, command):
    """The answer to `command` (e.g. "/flowscore/stats") on the telemetry
    socket of the DPDK process run with --file-prefix=`prefix`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(f"/var/run/dpdk/{prefix}/dpdk_telemetry.v2")
    try:
        sock.recv(16384)  # greeting
        sock.send(command.encode())
        return json.loads(sock.recv(65536))[command]
    finally:
        sock.close()
