#!/usr/bin/env bash
# The event-log tests start private nats-server processes. Install Debian's nats-server when it is missing.
set -euo pipefail
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "nats-server is missing and this is not root: run 'sudo apt-get install -y nats-server' first" >&2
  exit 1
fi
echo "installing Debian's nats-server (needed by the event-log tests)..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
