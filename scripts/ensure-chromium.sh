#!/usr/bin/env bash
# The inspector's page tests drive a headless Chromium (playwright-core with Debian's browser; playwright's
# own browser download cannot work offline). Install Debian's chromium when it is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing and this is not root: run 'sudo apt-get install -y chromium' first" >&2
  exit 1
fi
echo "installing Debian's chromium (needed by the inspector's browser tests)..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
