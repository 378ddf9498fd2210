#!/usr/bin/env bash
# Installs the system peers the tests drive for real, when missing:
# socat (kernel pty pairs), mosquitto (real MQTT broker), openssl (test
# certificates), PostgreSQL's server binaries (fleet ingest; the tests run
# their own server in a temp dir), and Debian's python3-cbor2 + python3-nacl for the
# independent COSE verifier (run with /usr/bin/python3, not a pyenv python).
set -euo pipefail
missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import cbor2, nacl' >/dev/null 2>&1; then
  missing+=(python3 python3-cbor2 python3-nacl)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test peers: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# mosquitto lives in /usr/sbin, which a non-root PATH may lack
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { echo "mosquitto still missing" >&2; exit 1; }
