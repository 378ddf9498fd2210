#!/usr/bin/env bash
# Installs the system peers the tests drive for real, when missing:
# socat (kernel pty pairs), tmux (a real terminal for the live view's tests), mosquitto (real MQTT broker), openssl (test
# certificates), PostgreSQL's server binaries (fleet ingest; the tests run
# their own server in a temp dir), Debian's python3-cbor2 + python3-nacl for
# the independent COSE verifier (run with /usr/bin/python3, not a pyenv python),
# and qemu-user-static with the arm64/armhf C and C++ runtimes, so the ARM
# release artifacts run under emulation (test/integration/release-arm.test.ts).
set -euo pipefail
missing=()
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# ARM: a foreign architecture must be known to dpkg before apt can install its packages
for arch in arm64 armhf; do
  dpkg --print-foreign-architectures | grep -qx "$arch" || $SUDO dpkg --add-architecture "$arch"
done
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
command -v qemu-aarch64-static >/dev/null 2>&1 && command -v qemu-arm-static >/dev/null 2>&1 || missing+=(qemu-user-static)
for pkg in libc6 libstdc++6 libatomic1; do
  for arch in arm64 armhf; do installed "$pkg:$arch" || missing+=("$pkg:$arch"); done
done
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import cbor2, nacl' >/dev/null 2>&1; then
  missing+=(python3 python3-cbor2 python3-nacl)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test peers: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# mosquitto lives in /usr/sbin, which a non-root PATH may lack
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { echo "mosquitto still missing" >&2; exit 1; }
