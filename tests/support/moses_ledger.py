#!/usr/bin/env python3
"""A second, independent MO§ES ledger implementation for the tests, written from
shared/reference/moses-ledger.md: it appends lines the way audit_stub.py does
(flock, Python's json.dumps) and verifies a ledger the way audit_stub.py does
(stop at the first bad line, exit 1).

  moses_ledger.py verify LEDGER
  moses_ledger.py log LEDGER --detail TEXT [--hold SECONDS] [--count N] [--tear 1]
      [--agent A] [--action A] [--outcome O] [--posture P]
      (--tear 1: write the first half of the line, fsync, print "torn" and wait, holding
      the lock, to be killed mid-line)
  moses_ledger.py canonical            (reads JSON lines on stdin, prints canonical forms)
"""
import datetime
import fcntl
import hashlib
import json
import sys
import time

GENESIS = "0" * 64


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry):
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def verify(path):
    prev = None
    n = 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            stated = entry.get("hash")
            if entry_hash(entry) != stated:
                print(f"FAIL line {lineno}: hash mismatch")
                return 1
            link = entry.get("previous_hash", entry.get("prev_hash"))
            if prev is not None and link != prev:
                print(f"FAIL line {lineno}: broken link")
                return 1
            prev = stated
            n += 1
    print(f"OK {n}")
    return 0


def last_hash(f):
    f.seek(0)
    last = None
    for line in f:
        if line.strip():
            last = line
    if last is None:
        return GENESIS
    return json.loads(last)["hash"]


def log(path, detail, hold, count, tear=False, fields=None):
    fields = fields or {}
    with open(path, "a+", encoding="utf-8") as f:
        for i in range(count):
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                if hold:
                    print("locked", flush=True)
                    time.sleep(hold)
                entry = {
                    "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "agent": fields.get("agent", "python-writer"),
                    "component": "moses-governance",
                    "action": fields.get("action", "test"),
                    "detail": f"{detail} {i}" if count > 1 else detail,
                    "outcome": fields.get("outcome", "logged"),
                    "mode": "high-integrity",
                    "posture": fields.get("posture", "defense"),
                    "role": "primary",
                    "session_hash": None,
                    "previous_hash": last_hash(f),
                }
                entry["hash"] = entry_hash(entry)
                line = json.dumps(entry) + "\n"
                import os
                if tear:
                    f.write(line[: len(line) // 2])
                    f.flush()
                    os.fsync(f.fileno())
                    print("torn", flush=True)
                    time.sleep(3600)
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
    return 0


def main(argv):
    cmd = argv[1]
    if cmd == "verify":
        return verify(argv[2])
    if cmd == "canonical":
        for line in sys.stdin:
            if line.strip():
                print(canonical(json.loads(line)))
        return 0
    if cmd == "log":
        path = argv[2]
        args = argv[3:]
        opts = {"--detail": "python entry", "--hold": "0", "--count": "1", "--tear": "0"}
        for k, v in zip(args[::2], args[1::2]):
            opts[k] = v
        fields = {k[2:]: v for k, v in opts.items() if k in ("--agent", "--action", "--outcome", "--posture")}
        return log(
            path, opts["--detail"], float(opts["--hold"]), int(opts["--count"]), opts["--tear"] == "1",
            fields,
        )
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
