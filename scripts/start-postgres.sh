#!/usr/bin/env bash
# Starts the machine's PostgreSQL (127.0.0.1:5432) if it is down and waits until it answers.
# The record-store conformance suite and the multi-process tests make a database of their own
# on it per test and drop it after. Exits non-zero if it cannot be started.
set -euo pipefail
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is not installed" >&2
  exit 1
fi
pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && exit 0
  sleep 1
done
echo "PostgreSQL did not answer on 127.0.0.1:5432 within 30 s" >&2
exit 1
