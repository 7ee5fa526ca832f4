#!/usr/bin/env bash
# gatewarden installer: install, --upgrade, --uninstall [--purge].
# Root, idempotent (a second run changes nothing), offline-capable: it installs from a
# checkout or an unpacked release tarball that carries node_modules; npm is only used
# offline, to prune dev dependencies.
#
#   scripts/install.sh [--site S --gateway G --broker URL]   install (or repair)
#   scripts/install.sh --upgrade                             new code; config, keys, spool kept
#   scripts/install.sh --uninstall [--purge]                 remove code and unit; data kept unless --purge
# Options: --prefix DIR (default /opt/gatewarden), --root DIR (install into a throwaway
# root: no user creation, no chown, no systemctl), --source DIR (default: this checkout),
# --no-start (enable but do not start).
set -euo pipefail

PREFIX=/opt/gatewarden
ROOT=
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODE=install
PURGE=0
FORCE=0
START=1
SITE= GATEWAY= BROKER=
USER_NAME=gatewarden

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf '  fix: %s\n' "$2" >&2; exit 1; }
STEP=start
trap 'rc=$?; [ $rc -ne 0 ] && printf "install.sh: failed during: %s (exit %s); fix the error above and run again (the script is safe to re-run)\n" "$STEP" "$rc" >&2' EXIT

usage() {
  cat <<'EOF_USAGE'
Usage: install.sh [OPTIONS]               install gatewarden (or repair an installation)
       install.sh --upgrade [OPTIONS]     install new code; config, keys and spool are kept
       install.sh --uninstall [--purge [--force]]
                                          remove the code and the service; data is kept
                                          unless --purge

Run as root, from a gatewarden checkout or an unpacked release that includes node_modules.
No network access is needed. Running it twice changes nothing the second time.

Options:
  --site S            site id for a new config (ids: letters, digits, . _ -)
  --gateway G         gateway id for a new config (default: this host's short name)
  --broker URL        broker for a new config, e.g. mqtts://broker.example.net:8883
  --upgrade           replace the code only; config, signing key and spool stay
  --uninstall         stop and remove the service and the code; keep config and data
  --purge             with --uninstall: also delete /etc/gatewarden and /var/lib/gatewarden
                      (config, signing key, spool). Refused while the spool still holds
                      events not yet delivered to the broker
  --force             with --purge: delete even undelivered events
  --prefix DIR        where the code goes (default /opt/gatewarden)
  --no-start          enable the service but do not start it
  --root DIR          install into DIR as a throwaway root (for testing an image): no
                      user creation, no file ownership changes, no systemctl
  --source DIR        install from DIR instead of the checkout this script is in
  -h, --help          show this help

Examples:
  sudo scripts/install.sh --site hq --gateway gw-lobby --broker mqtts://broker.example.net:8883
  sudo scripts/install.sh --upgrade
  sudo scripts/install.sh --uninstall
  sudo scripts/install.sh --uninstall --purge      # after `gatewarden status` shows 0 unsent

After installing: edit /etc/gatewarden/config.yaml if needed, then check the gateway with
`gatewarden diag`.

Exit codes:
  0  done
  1  failed, or refused (the message says why and how to fix it); safe to run again
  2  unknown option or bad usage
EOF_USAGE
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --upgrade) MODE=upgrade ;;
    --uninstall) MODE=uninstall ;;
    --purge) PURGE=1 ;;
    --force) FORCE=1 ;;
    --prefix) PREFIX="$2"; shift ;;
    --root) ROOT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
    --source) SOURCE="$2"; shift ;;
    --site) SITE="$2"; shift ;;
    --gateway) GATEWAY="$2"; shift ;;
    --broker) BROKER="$2"; shift ;;
    --no-start) START=0 ;;
    -h|--help) usage 0 ;;
    *) trap - EXIT; echo "install.sh: unknown option: $1 (install.sh --help lists the options)" >&2; exit 2 ;;
  esac
  shift
done
usage_error() { trap - EXIT; printf 'install.sh: %s\n  fix: %s\n' "$1" "$2" >&2; exit 2; }
[ "$PURGE" = 1 ] && [ "$MODE" != uninstall ] && usage_error "--purge only goes with --uninstall" "scripts/install.sh --uninstall --purge"
[ "$FORCE" = 1 ] && [ "$PURGE" != 1 ] && usage_error "--force only goes with --uninstall --purge" "scripts/install.sh --uninstall --purge --force"

DEST="$ROOT$PREFIX"
ETC="$ROOT/etc/gatewarden"
VAR="$ROOT/var/lib/gatewarden"
UNIT="$ROOT/etc/systemd/system/gatewarden.service"
LINK="$ROOT/usr/local/bin/gatewarden"
CONFIG="$ETC/config.yaml"

# systemctl and account changes only on a real system run by systemd (not in a --root).
SYSTEMD=0
if [ -z "$ROOT" ] && [ -d /run/systemd/system ] && [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then SYSTEMD=1; fi
MANAGE_USER=0
if [ -z "$ROOT" ] && [ "$SYSTEMD" = 1 ]; then MANAGE_USER=1; fi

[ "$(id -u)" = 0 ] || [ -n "$ROOT" ] || die "must run as root" "sudo $0 $*"

STEP="checking the system"
say "checking Node.js and architecture"
NODE="$(command -v node || true)"
[ -n "$NODE" ] || die "node not found" "install Node.js 20 or newer (apt-get install nodejs, or the NodeSource package)"
NODE_MAJOR="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $("$NODE" -v) is too old; gatewarden needs 20 or newer" "upgrade Node.js to 20 LTS or newer"
ARCH="$(uname -m)"
case "$ARCH" in
  x86_64|aarch64|arm64|armv7l) note "node $("$NODE" -v) at $NODE, arch $ARCH: ok" ;;
  *) die "architecture $ARCH is not supported (native modules: better-sqlite3, serialport)" "use an x86_64, aarch64 or armv7l gateway" ;;
esac
# netwatch's packet capture (claims of the gateway's own IP, scan sources) runs tcpdump
# under the unit's CAP_NET_RAW; without it netwatch keeps to the kernel tables and says so.
command -v tcpdump >/dev/null 2>&1 || note "tcpdump not found: netwatch will not see claims of this gateway's own IP or name scan sources (apt-get install tcpdump; docs/netwatch.md)"
[ -z "$ROOT" ] || note "installing into root $ROOT: no user creation, no chown, no systemctl"
[ "$SYSTEMD" = 1 ] || [ -n "$ROOT" ] || note "systemd is not PID 1 here: the unit is installed but systemctl and user creation are skipped"

systemctl_do() { if [ "$SYSTEMD" = 1 ]; then systemctl "$@"; else note "skipped: systemctl $*"; fi; }

# ---------------------------------------------------------------- uninstall
if [ "$MODE" = uninstall ]; then
  if [ "$PURGE" = 1 ] && [ "$FORCE" != 1 ]; then
    STEP="counting undelivered events"
    # Read-only spool reader (gatewarden spool stats --json), from the installed code or,
    # after a plain --uninstall removed it, from the checkout this script runs from.
    # (a checkout without a build runs its sources through tsx).
    CLI=()
    for c in "$DEST" "$SOURCE"; do
      if [ -f "$c/dist/agent/cli/main.js" ]; then CLI=("$c/dist/agent/cli/main.js"); break; fi
      if [ -f "$c/agent/cli/main.ts" ] && [ -d "$c/node_modules/tsx" ]; then CLI=(--import "$c/node_modules/tsx/dist/loader.mjs" "$c/agent/cli/main.ts"); break; fi
    done
    if [ -e "$VAR/spool.db" ]; then
      [ ${#CLI[@]} -gt 0 ] || die "cannot count the undelivered events in $VAR/spool.db: no gatewarden code at $DEST or $SOURCE to read it" "run from a gatewarden checkout, or add --force to delete them anyway"
      ERR_OUT="$(mktemp)"
      STATS="$("$NODE" "${CLI[@]}" spool stats --json --state-dir "$VAR" 2>"$ERR_OUT")" || { WHY="$(head -n 1 "$ERR_OUT")"; rm -f "$ERR_OUT"; die "cannot read the spool in $VAR: $WHY" "check it with: gatewarden spool stats --state-dir $VAR; or add --force to delete it anyway"; }
      rm -f "$ERR_OUT"
      UNSENT="$(printf '%s' "$STATS" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const u=JSON.parse(s).unsent;if(!Number.isInteger(u))process.exit(1);console.log(u)})')" || die "cannot read the unsent count from: $STATS" "add --force to delete the spool anyway"
      if [ "$UNSENT" -gt 0 ]; then
        die "refusing to purge: the spool in $VAR still holds $UNSENT event(s) not yet delivered to the broker" "start the service and wait until 'gatewarden status' shows 0 unsent, or add --force to delete them"
      fi
      note "spool: 0 undelivered events"
    fi
  fi
  STEP="uninstalling"
  say "stopping and disabling the service"
  if [ "$SYSTEMD" = 1 ]; then systemctl disable --now gatewarden.service 2>/dev/null || true; else note "skipped: systemctl disable --now gatewarden"; fi
  say "removing $UNIT, $LINK and $DEST"
  rm -f "$UNIT" "$LINK"
  rm -rf "$DEST"
  systemctl_do daemon-reload
  if [ "$PURGE" = 1 ]; then
    say "purging $ETC and $VAR (config, keys, spool)"
    rm -rf "$ETC" "$VAR"
    if [ "$MANAGE_USER" = 1 ] && getent passwd "$USER_NAME" >/dev/null; then userdel "$USER_NAME" && note "removed user $USER_NAME"; fi
  else
    note "kept $ETC and $VAR (config, keys, spool); --purge removes them"
  fi
  say "uninstalled"
  exit 0
fi

# ---------------------------------------------------------------- install / upgrade
if [ "$MODE" = upgrade ] && [ ! -d "$DEST" ]; then die "no installation at $DEST to upgrade" "run without --upgrade to install"; fi

STEP="creating the service user"
say "service user $USER_NAME"
if [ "$MANAGE_USER" = 1 ]; then
  if getent passwd "$USER_NAME" >/dev/null; then note "exists"
  else
    useradd --system --home-dir /var/lib/gatewarden --no-create-home --shell /usr/sbin/nologin --user-group "$USER_NAME"
    note "created"
  fi
  if id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx dialout; then note "in dialout"; else usermod -aG dialout "$USER_NAME"; note "added to dialout (serial ports)"; fi
else
  note "skipped (no systemd or --root)"
fi

STEP="installing the code"
say "code in $DEST"
[ -f "$SOURCE/package.json" ] && [ -d "$SOURCE/agent" ] || die "$SOURCE is not a gatewarden checkout or release" "pass --source DIR pointing at an unpacked release"
[ -d "$SOURCE/node_modules" ] || die "$SOURCE has no node_modules; an offline install needs them" "run 'npm ci' in the checkout once (online), or use a release tarball that includes node_modules"
PARTS=(agent drivers config bin systemd scripts docs dist package.json package-lock.json tsconfig.json tsconfig.build.json README.md)
# A stamp of the source (file list, sizes, mtimes) makes the second run a no-op.
stamp() { (cd "$SOURCE" && for p in "${PARTS[@]}"; do [ -e "$p" ] && find "$p" -type f -printf '%p %s %T@\n'; done; find node_modules -maxdepth 2 -name package.json -printf '%p %s %T@\n') | LC_ALL=C sort | sha256sum | cut -d' ' -f1; }
NEW_STAMP="$(stamp)"
OLD_STAMP="$(cat "$DEST/.install-stamp" 2>/dev/null || true)"
if [ "$NEW_STAMP" = "$OLD_STAMP" ]; then
  note "unchanged (same source as installed)"
  CODE_CHANGED=0
else
  STAGE="$DEST.new.$$"
  rm -rf "$STAGE"
  mkdir -p "$STAGE"
  for p in "${PARTS[@]}"; do [ -e "$SOURCE/$p" ] && cp -a "$SOURCE/$p" "$STAGE/"; done
  cp -a "$SOURCE/node_modules" "$STAGE/"
  # The service and the CLI run compiled JavaScript (dist/). Built here from the sources
  # when TypeScript is at hand (a checkout); a release tarball carries dist/ instead.
  if [ -f "$STAGE/node_modules/typescript/bin/tsc" ] && [ -f "$STAGE/tsconfig.build.json" ]; then
    (cd "$STAGE" && env -u npm_lifecycle_event "$NODE" scripts/build.mjs) >"$STAGE.build.log" 2>&1 || { cat "$STAGE.build.log" >&2; rm -rf "$STAGE" "$STAGE.build.log"; die "building dist/ failed (tsc errors above)" "fix the errors, or install from a release that carries dist/"; }
    rm -f "$STAGE.build.log"
    note "built dist/ (compiled JavaScript)"
  fi
  [ -f "$STAGE/dist/agent/cli/main.js" ] || { rm -rf "$STAGE"; die "no dist/ in $SOURCE and no TypeScript to build it" "run 'npm ci' in the checkout (it builds dist/), or use a release that carries dist/"; }
  # Production dependencies only; prune works offline.
  (cd "$STAGE" && npm prune --omit=dev --offline --no-audit --no-fund >/dev/null 2>&1) || note "npm prune failed or npm missing: dev dependencies stay (harmless)"
  echo "$NEW_STAMP" > "$STAGE/.install-stamp"
  rm -rf "$DEST.old"
  [ -d "$DEST" ] && mv "$DEST" "$DEST.old"
  mv "$STAGE" "$DEST"
  rm -rf "$DEST.old"
  chmod -R go-w "$DEST"
  note "installed $(cd "$DEST" && "$NODE" -p 'require("./package.json").version') ($(du -sh "$DEST" | cut -f1))"
  CODE_CHANGED=1
fi
mkdir -p "$(dirname "$LINK")"
if [ "$(readlink "$LINK" 2>/dev/null)" != "$PREFIX/bin/gatewarden.js" ]; then ln -sfn "$PREFIX/bin/gatewarden.js" "$LINK"; note "linked $LINK"; fi

STEP="creating directories"
say "directories $ETC (0750) and $VAR (0750)"
mkdir -p "$ETC" "$VAR"
chmod 0750 "$ETC" "$VAR"
if [ "$MANAGE_USER" = 1 ]; then chown root:"$USER_NAME" "$ETC"; chown "$USER_NAME:$USER_NAME" "$VAR"; fi

STEP="writing the config and the key"
GW=(env "GATEWARDEN_CONFIG=$CONFIG" "$NODE" "$DEST/bin/gatewarden.js")
INIT_ROOT=()
[ -n "$ROOT" ] && INIT_ROOT=(--root "$ROOT")
if [ -f "$CONFIG" ]; then
  say "config $CONFIG"
  note "exists: kept as it is"
else
  say "writing $CONFIG from the template"
  [ -n "$SITE" ] || note "no --site given: using 'unconfigured'; edit $CONFIG before starting"
  "${GW[@]}" init --config "$CONFIG" --site "${SITE:-unconfigured}" --gateway "${GATEWAY:-$(hostname -s)}" --broker "${BROKER:-mqtts://broker.invalid:8883}" "${INIT_ROOT[@]}" | sed 's/^/    /'
fi
chmod 0640 "$CONFIG"
[ "$MANAGE_USER" = 1 ] && chown root:"$USER_NAME" "$CONFIG"
KEY="$VAR/keys/gateway-ed25519.pem"
say "signing key"
if [ -f "$KEY" ]; then note "exists: kept ($KEY)"
else "${GW[@]}" init --config "$CONFIG" "${INIT_ROOT[@]}" | sed 's/^/    /'
fi
[ "$MANAGE_USER" = 1 ] && chown -R "$USER_NAME:$USER_NAME" "$VAR"

STEP="installing the systemd unit"
say "systemd unit $UNIT"
mkdir -p "$(dirname "$UNIT")"
UNIT_NEW="$(mktemp)"
sed -e "s#/usr/bin/node#$NODE#g" -e "s#/opt/gatewarden#$PREFIX#g" "$SOURCE/systemd/gatewarden.service" > "$UNIT_NEW"
if cmp -s "$UNIT_NEW" "$UNIT"; then note "unchanged"; rm -f "$UNIT_NEW"; UNIT_CHANGED=0
else install -m 0644 "$UNIT_NEW" "$UNIT"; rm -f "$UNIT_NEW"; note "installed"; UNIT_CHANGED=1; fi

STEP="enabling the service"
say "service"
if [ "$SYSTEMD" = 1 ]; then
  [ "$UNIT_CHANGED" = 1 ] && systemctl daemon-reload
  systemctl is-enabled --quiet gatewarden.service || { systemctl enable gatewarden.service; note "enabled"; }
  if grep -q '^site: "unconfigured"' "$CONFIG"; then note "not started: edit $CONFIG (site, gateway, broker), then: systemctl start gatewarden"
  elif [ "$START" = 1 ]; then
    if [ "$MODE" = upgrade ] || [ "$CODE_CHANGED" = 1 ] || [ "$UNIT_CHANGED" = 1 ]; then systemctl restart gatewarden.service; note "(re)started"
    elif ! systemctl is-active --quiet gatewarden.service; then systemctl start gatewarden.service; note "started"
    else note "running, unchanged"; fi
  fi
else
  note "skipped: systemctl enable/start (no systemd or --root)"
fi
STEP=done
say "done ($MODE). Check the gateway with: gatewarden diag"
