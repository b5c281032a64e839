#!/usr/bin/env bash
# Prepare a (fresh) Debian 12 machine, as root, for the real-Asterisk tests:
# host tools (mmdebstrap, openssl) and the throw-away root file system with
# Asterisk 22 from Debian sid (tests/asterisk/server.py provision).
# Idempotent: a second run finds everything in place and takes about a second.
#
# Environment: PYTHON (default python3), AMI_ASTERISK_HOME / AMI_ASTERISK_ROOT
# (see server.py).  Exits non-zero, with the provisioning log tail, on failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

if [ "$(id -u)" != 0 ]; then
    echo "ci-prepare: needs root (mmdebstrap, chroot, mount)" >&2
    exit 1
fi

missing=()
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    echo "ci-prepare: installing ${missing[*]}"
    timeout 900 apt-get update -q
    timeout 900 apt-get install -y -q "${missing[@]}"
fi

# Two tries: a mirror hiccup should not fail a CI run.
for attempt in 1 2; do
    if timeout 1800 "$python" "$here/server.py" provision; then
        exit 0
    fi
    echo "ci-prepare: provisioning attempt $attempt failed" >&2
    [ "$attempt" = 2 ] || { echo "ci-prepare: retrying" >&2; sleep 5; }
done
exit 1
