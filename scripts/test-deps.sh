#!/usr/bin/env bash
# Installs the Debian test peers the suite talks to, when missing: mosquitto (MQTT broker),
# socat (kernel pty pairs for serial tests), python3-pymodbus (Modbus slave), mbpoll
# (independent Modbus client), openssl (test CA), iproute2 (network namespaces), systemd
# (systemd-analyze verify/security on the unit file; nothing is started), chrony (a private
# chronyd for the clock-sync tests), tcpdump and arpwatch (netwatch).
set -euo pipefail
need=()
{ command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; } && command -v mosquitto_passwd >/dev/null 2>&1 || need+=(mosquitto)
command -v mosquitto_sub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v socat >/dev/null 2>&1 || need+=(socat)
# pymodbus's server imports pyserial, which Debian only recommends: check the import the
# peer makes, and install pyserial explicitly (we install without recommends).
/usr/bin/python3 -c 'import pymodbus.server' >/dev/null 2>&1 || need+=(python3-pymodbus python3-serial python3-serial-asyncio)
command -v mbpoll >/dev/null 2>&1 || need+=(mbpoll)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# ejabberd: a second, clustered MQTT 5 broker (test/helpers/ejabberd.ts runs private nodes).
[ -x /usr/sbin/ejabberdctl ] || need+=(ejabberd)
# chrony: clock-sync tests run a private chronyd -x (never touches the system clock). Note: on
# Debian the package replaces systemd-timesyncd as the machine's time daemon.
{ command -v chronyd >/dev/null 2>&1 || [ -x /usr/sbin/chronyd ]; } && command -v chronyc >/dev/null 2>&1 || need+=(chrony)
# tcpdump: netwatch's packet capture; arpwatch: its verdicts are compared with netwatch's on
# the same namespace LAN (test/integration/netwatch-claims.test.ts).
command -v tcpdump >/dev/null 2>&1 || [ -x /usr/bin/tcpdump ] || need+=(tcpdump)
command -v arpwatch >/dev/null 2>&1 || [ -x /usr/sbin/arpwatch ] || need+=(arpwatch)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test peers missing: ${need[*]} — install them (sudo apt-get install ${need[*]}) or run as root" >&2
  exit 1
fi
echo "installing test peers: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The mosquitto package enables its system service; the tests run private instances only.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi
# Likewise ejabberd: its packaged node would hold ports 1883/5222 and an Erlang node name.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl disable --now ejabberd >/dev/null 2>&1 || true; fi
# Same for arpwatch: the tests run it in their own namespaces only.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl disable --now arpwatch >/dev/null 2>&1 || true; fi
