#!/bin/sh
# Installs Tapwire onto a device, or offline into the root of a mounted SD card /
# image (--root): the program under <prefix>/lib/tapwire, a <prefix>/bin/tapwire
# entry point, the systemd unit, the tapwire system user (group dialout),
# /etc/tapwire (0750) with the sample config. Idempotent; an existing config is
# never touched; starts nothing unless --enable. With --root nothing outside that
# root is touched, systemctl is never called, and no device key is made: each
# device makes its own at first boot (tapwire.service: provision --if-missing),
# so one image flashed onto many cards never gives two devices one key.
#
#   install.sh [--from <SEA binary | bundle dir>] [--prefix /usr/local]
#              [--root <dir>] [--config <file>] [--enable] [--keep-device-key]
#
# --from defaults to what sits beside this script in a release tarball (the SEA
# `tapwire`, or tapwire.js + prebuilds/ + the launcher for armv7), else the
# repo's dist/sea/tapwire-linux-<this arch>, else the bundle in dist/.
# --config installs <file> as /etc/tapwire/config.json unless one is there.
# --dest-root is the old name of --root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
from=
prefix=/usr/local
dest=
config=
enable=0
keep_key=0

usage() { echo "usage: $0 [--from <file|dir>] [--prefix <dir>] [--root <dir>] [--config <file>] [--enable] [--keep-device-key]" >&2; exit 2; }
help() { sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0; }
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || usage; from=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
    --root|--dest-root) [ $# -ge 2 ] || usage; dest=$2; shift 2 ;;
    --config) [ $# -ge 2 ] || usage; config=$2; shift 2 ;;
    --enable) enable=1; shift ;;
    --keep-device-key) keep_key=1; shift ;;
    -h|--help) help ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
case "$prefix" in /*) ;; *) echo "--prefix must be absolute" >&2; exit 2 ;; esac
if [ -n "$dest" ]; then
  [ -d "$dest" ] || { echo "--root $dest is not a directory" >&2; exit 2; }
  dest=$(cd "$dest" && pwd)
  [ "$dest" = / ] && dest=
fi
live=1
[ -n "$dest" ] && live=0
if [ -n "$config" ] && [ ! -f "$config" ]; then echo "--config $config is not a file" >&2; exit 2; fi
if [ "$live" = 1 ] && [ "$(id -u)" != 0 ]; then echo "run as root (or use --root)" >&2; exit 1; fi

# An image must carry no device key: every card flashed from it would be the same device.
if [ "$live" = 0 ] && [ "$keep_key" = 0 ] && [ -e "$dest/var/lib/tapwire/device.key" ]; then
  echo "$dest/var/lib/tapwire/device.key exists: every card flashed from this image would share one device key." >&2
  echo "Remove $dest/var/lib/tapwire/device.* (each device makes its own at first boot), or pass --keep-device-key if this card is one device's own." >&2
  exit 1
fi

if [ -z "$from" ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch= ;;
  esac
  if [ -f "$here/tapwire.js" ] && [ -d "$here/prebuilds" ]; then
    from=$here                       # release tarball, bundle (armv7)
  elif [ -f "$here/tapwire" ]; then
    from=$here/tapwire               # release tarball, single executable
  elif [ -n "$arch" ] && [ -f "$here/../dist/sea/tapwire-linux-$arch" ]; then
    from=$here/../dist/sea/tapwire-linux-$arch
  else
    from=$here/../dist
  fi
fi
if [ -f "$from" ]; then
  kind=sea
elif [ -f "$from/tapwire.js" ] && [ -d "$from/prebuilds" ]; then
  kind=bundle
else
  echo "--from $from is neither an executable nor a dir with tapwire.js and prebuilds/ (run npm run build)" >&2
  exit 1
fi
if [ "$kind" = bundle ] && [ "$live" = 1 ]; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$major" -ge 20 ] || { echo "the bundle needs Node >= 20 on this device (found: ${major})" >&2; exit 1; }
fi
# the bundle's launcher: beside it in a release tarball, else the repo's
launcher="$here/tapwire-launcher.sh"
[ "$kind" = bundle ] && [ -f "$from/tapwire" ] && launcher="$from/tapwire"
# the sample config: beside this script in a release tarball and in the repo's build/
sample="$here/config.example.json"

lib="$dest$prefix/lib/tapwire"
bin="$dest$prefix/bin/tapwire"
unit="$dest/etc/systemd/system/tapwire.service"

# 1. the program: staged beside the old one, then swapped in (a bundle -> SEA switch leaves no stale files)
install -d -m 0755 "$dest$prefix/lib" "$dest$prefix/bin"
rm -rf "$lib.new" "$lib.old"
install -d -m 0755 "$lib.new"
if [ "$kind" = sea ]; then
  install -m 0755 "$from" "$lib.new/tapwire"
else
  install -m 0644 "$from/tapwire.js" "$lib.new/tapwire.js"
  # the launcher preloads it (V8 code cache); an older build has none
  if [ -f "$from/compile-cache.cjs" ]; then install -m 0644 "$from/compile-cache.cjs" "$lib.new/compile-cache.cjs"; fi
  install -m 0755 "$launcher" "$lib.new/tapwire"
  # marks the folder CommonJS whatever package.json may sit above it
  printf '{ "type": "commonjs" }\n' > "$lib.new/package.json"
  chmod 0644 "$lib.new/package.json"
  (cd "$from" && find prebuilds -type d) | while read -r d; do install -d -m 0755 "$lib.new/$d"; done
  (cd "$from" && find prebuilds -type f -name '*.node') | while read -r f; do install -m 0644 "$from/$f" "$lib.new/$f"; done
fi
[ -d "$lib" ] && mv "$lib" "$lib.old"
mv "$lib.new" "$lib"
rm -rf "$lib.old"

# 2. the entry point on PATH (the bundle's launcher finds tapwire.js through the link)
rm -f "$bin"
ln -s "$prefix/lib/tapwire/tapwire" "$bin"

# 3. the user: declared for systemd-sysusers (creates it at boot in an image), created now on a live system
install -d -m 0755 "$dest/usr/lib/sysusers.d" "$dest/usr/lib/tmpfiles.d"
cat > "$dest/usr/lib/sysusers.d/tapwire.conf" <<'EOF'
# Tapwire edge agent (build/install.sh)
u tapwire - "Tapwire edge agent" /var/lib/tapwire /usr/sbin/nologin
m tapwire dialout
EOF
chmod 0644 "$dest/usr/lib/sysusers.d/tapwire.conf"
# /etc/tapwire: root-owned, readable by the tapwire group only (secrets inside are 0600 tapwire);
# in an image the group does not exist yet: systemd-tmpfiles sets it at boot, before the service
cat > "$dest/usr/lib/tmpfiles.d/tapwire.conf" <<'EOF'
d /etc/tapwire 0750 root tapwire -
z /etc/tapwire/config.json 0640 root tapwire -
EOF
chmod 0644 "$dest/usr/lib/tmpfiles.d/tapwire.conf"
if [ "$live" = 1 ]; then
  if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers tapwire.conf
  else
    getent group dialout >/dev/null || groupadd --system dialout
    id tapwire >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/tapwire --no-create-home --shell /usr/sbin/nologin tapwire
    usermod -a -G dialout tapwire
  fi
fi

# 4. config dir, the sample beside it, the config (an existing config is never touched)
install -d -m 0750 "$dest/etc/tapwire"
chmod 0750 "$dest/etc/tapwire"
[ -f "$sample" ] && install -m 0644 "$sample" "$dest/etc/tapwire/config.example.json"
if [ -n "$config" ]; then
  if [ -e "$dest/etc/tapwire/config.json" ]; then
    echo "note: $dest/etc/tapwire/config.json exists, kept as it is (not replaced by $config)" >&2
  else
    install -m 0640 "$config" "$dest/etc/tapwire/config.json"
    [ "$live" = 1 ] && chown root:tapwire /etc/tapwire/config.json
  fi
fi
[ "$live" = 1 ] && chown root:tapwire /etc/tapwire
# ${machine-id} in the config names each device only if each card gets its own machine id at first boot
if [ "$live" = 0 ] && [ -f "$dest/etc/tapwire/config.json" ] && grep -qF '${machine-id}' "$dest/etc/tapwire/config.json" \
  && [ -s "$dest/etc/machine-id" ] && ! grep -qx 'uninitialized' "$dest/etc/machine-id"; then
  echo "warning: the config's device uses \${machine-id}, and this image has a machine id ($dest/etc/machine-id):" >&2
  echo "  every card would get the same device id. Empty that file (systemd writes a new one at first boot), or use \${serial}." >&2
fi

# 5. the unit (ExecStartPre and ExecStart follow --prefix)
install -d -m 0755 "$dest/etc/systemd/system"
sed "s|/usr/local/bin/tapwire|$prefix/bin/tapwire|" "$here/tapwire.service" > "$unit.tmp"
chmod 0644 "$unit.tmp"
mv "$unit.tmp" "$unit"

if [ "$live" = 1 ]; then
  systemctl daemon-reload
  if [ "$enable" = 1 ]; then
    [ -f /etc/tapwire/config.json ] || echo "note: /etc/tapwire/config.json does not exist yet; tapwire will exit 2 until it does" >&2
    systemctl enable --now tapwire.service
  fi
elif [ "$enable" = 1 ]; then
  # offline enable, what `systemctl enable` does: the WantedBy= symlink
  install -d -m 0755 "$dest/etc/systemd/system/multi-user.target.wants"
  ln -sfn /etc/systemd/system/tapwire.service "$dest/etc/systemd/system/multi-user.target.wants/tapwire.service"
fi

echo "installed tapwire ($kind) into ${dest:-/}: $prefix/bin/tapwire, /etc/systemd/system/tapwire.service"
[ -f "$dest/etc/tapwire/config.json" ] || echo "next: write /etc/tapwire/config.json (see /etc/tapwire/config.example.json; check it with tapwire config check)"
[ "$enable" = 1 ] || echo "not enabled: systemctl enable --now tapwire (or install with --enable)"
echo "at its first start the device makes its key and logs the fingerprint to enrol: journalctl -u tapwire | grep fingerprint"
