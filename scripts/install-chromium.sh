#!/usr/bin/env bash
# The browser the web-page tests (tests/tests/web.rs) drive: Debian's chromium and its matching
# chromium-driver, from apt, never a download of Chrome or a driver from elsewhere.
#
# Usage: scripts/install-chromium.sh   (idempotent; installs only when one of the two is missing,
# which needs root, as on a fresh CI machine)
set -euo pipefail

if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
    echo "installing chromium and chromium-driver from apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# The Debian launcher sources /etc/chromium.d/*, whose dev-shm check can print a shell warning;
# only the version line matters here.
chromium_version="$(/usr/bin/chromium --version 2>/dev/null)"
driver_version="$(/usr/bin/chromedriver --version)"
echo "$chromium_version"
echo "$driver_version"

# chromedriver only drives the Chromium of its own major version.
chromium_major="$(sed -E 's/^[^0-9]*([0-9]+)\..*/\1/' <<<"$chromium_version")"
driver_major="$(sed -E 's/^[^0-9]*([0-9]+)\..*/\1/' <<<"$driver_version")"
if [[ "$chromium_major" != "$driver_major" ]]; then
    echo "chromium $chromium_major and chromedriver $driver_major differ; reinstall both from apt" >&2
    exit 1
fi
