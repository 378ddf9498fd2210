#!/bin/sh
# Installs Tapwire onto a device (or into an image mounted at --dest-root):
# the program under <prefix>/lib/tapwire, a <prefix>/bin/tapwire entry point, the
# systemd unit, the tapwire system user (group dialout) and /etc/tapwire (0750).
# Idempotent; starts nothing unless --enable. With --dest-root nothing outside that
# root is touched and systemctl is never called (an image is enabled offline).
#
#   build/install.sh [--from <SEA binary | bundle dir>] [--prefix /usr/local]
#                    [--dest-root /] [--enable]
#
# --from defaults to dist/sea/tapwire-linux-<this arch> if built, else the bundle
# dist/ (tapwire.js + prebuilds/, for a system Node >= 20: the armv7 path).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
from=
prefix=/usr/local
dest=
enable=0

usage() { echo "usage: $0 [--from <file|dir>] [--prefix <dir>] [--dest-root <dir>] [--enable]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || usage; from=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
    --dest-root) [ $# -ge 2 ] || usage; dest=$2; shift 2 ;;
    --enable) enable=1; shift ;;
    -h|--help) usage ;;
    *) echo "unknown option: $1" >&2; usage ;;
  esac
done
case "$prefix" in /*) ;; *) echo "--prefix must be absolute" >&2; exit 2 ;; esac
if [ -n "$dest" ]; then
  [ -d "$dest" ] || { echo "--dest-root $dest is not a directory" >&2; exit 2; }
  dest=$(cd "$dest" && pwd)
  [ "$dest" = / ] && dest=
fi
live=1
[ -n "$dest" ] && live=0
if [ "$live" = 1 ] && [ "$(id -u)" != 0 ]; then echo "run as root (or use --dest-root)" >&2; exit 1; fi

if [ -z "$from" ]; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) arch= ;;
  esac
  if [ -n "$arch" ] && [ -f "$here/../dist/sea/tapwire-linux-$arch" ]; then
    from="$here/../dist/sea/tapwire-linux-$arch"
  else
    from="$here/../dist"
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
  # marks the folder CommonJS whatever package.json may sit above it
  printf '{ "type": "commonjs" }\n' > "$lib.new/package.json"
  chmod 0644 "$lib.new/package.json"
  (cd "$from" && find prebuilds -type d) | while read -r d; do install -d -m 0755 "$lib.new/$d"; done
  (cd "$from" && find prebuilds -type f -name '*.node') | while read -r f; do install -m 0644 "$from/$f" "$lib.new/$f"; done
fi
[ -d "$lib" ] && mv "$lib" "$lib.old"
mv "$lib.new" "$lib"
rm -rf "$lib.old"

# 2. the entry point on PATH
rm -f "$bin"
if [ "$kind" = sea ]; then
  ln -s "$prefix/lib/tapwire/tapwire" "$bin"
else
  cat > "$bin" <<EOF
#!/bin/sh
# Tapwire bundle on the system Node (>= 20); TAPWIRE_NODE overrides which node.
exec "\${TAPWIRE_NODE:-node}" "$prefix/lib/tapwire/tapwire.js" "\$@"
EOF
  chmod 0755 "$bin"
fi

# 3. the user: declared for systemd-sysusers (creates it at boot in an image), created now on a live system
install -d -m 0755 "$dest/usr/lib/sysusers.d" "$dest/usr/lib/tmpfiles.d"
cat > "$dest/usr/lib/sysusers.d/tapwire.conf" <<'EOF'
# Tapwire edge agent (build/install.sh)
u tapwire - "Tapwire edge agent" /var/lib/tapwire /usr/sbin/nologin
m tapwire dialout
EOF
chmod 0644 "$dest/usr/lib/sysusers.d/tapwire.conf"
# /etc/tapwire: root-owned, readable by the tapwire group only (secrets inside are 0600 tapwire)
cat > "$dest/usr/lib/tmpfiles.d/tapwire.conf" <<'EOF'
d /etc/tapwire 0750 root tapwire -
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

# 4. config dir (an existing config is never touched)
install -d -m 0750 "$dest/etc/tapwire"
chmod 0750 "$dest/etc/tapwire"
[ "$live" = 1 ] && chown root:tapwire /etc/tapwire

# 5. the unit (ExecStart follows --prefix)
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
[ "$enable" = 1 ] || echo "not enabled: put the config in /etc/tapwire/config.json, then systemctl enable --now tapwire"
