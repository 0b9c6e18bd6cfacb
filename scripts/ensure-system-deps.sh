#!/usr/bin/env bash
# The tests need two Debian packages: mosquitto (a real broker) and chromium (panel tests).
# Installs them when missing and running as root with apt-get; otherwise says how.
set -euo pipefail

missing=()
[[ -x /usr/sbin/mosquitto || -x /usr/bin/mosquitto ]] || missing+=(mosquitto)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "Installing system packages for the tests: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests start their own Mosquitto on a free port; a system service would hold 1883,
  # the embedded broker's default port.
  if [[ " ${missing[*]} " == *" mosquitto "* ]] && command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
    systemctl disable --now mosquitto >/dev/null 2>&1 || true
    echo "Stopped and disabled the mosquitto system service (it would hold port 1883)."
  fi
  exit 0
fi

cat >&2 <<MSG
The tests need these Debian packages, which are not installed: ${missing[*]}
Install them, then run the tests again:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}
MSG
exit 1
