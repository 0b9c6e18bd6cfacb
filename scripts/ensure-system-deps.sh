#!/usr/bin/env bash
# The tests need these Debian packages: mosquitto (a real broker), chromium (panel tests),
# postgresql (the store's PostgreSQL backend: each suite starts a throwaway cluster on a free port),
# redis-server and nginx (the cluster suite: several hub instances on one Redis behind nginx).
# Installs them when missing and running as root with apt-get; otherwise says how.
set -euo pipefail

missing=()
[[ -x /usr/sbin/mosquitto || -x /usr/bin/mosquitto ]] || missing+=(mosquitto)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[[ -x /usr/bin/redis-server || -x /usr/sbin/redis-server ]] || missing+=(redis-server)
[[ -x /usr/sbin/nginx ]] || missing+=(nginx)
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
  # Likewise the tests start their own PostgreSQL clusters; the one the package creates would hold 5432.
  if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    if command -v systemctl >/dev/null && systemctl is-active --quiet postgresql 2>/dev/null; then
      systemctl disable --now postgresql >/dev/null 2>&1 || true
    fi
    if command -v pg_lsclusters >/dev/null; then
      while read -r version cluster _port status _rest; do
        if [[ "$status" == online* ]]; then pg_ctlcluster "$version" "$cluster" stop >/dev/null 2>&1 || true; fi
        if [[ -f "/etc/postgresql/$version/$cluster/start.conf" ]]; then echo manual >"/etc/postgresql/$version/$cluster/start.conf"; fi
      done < <(pg_lsclusters --no-header 2>/dev/null)
    fi
    echo "Stopped the postgresql system service and set its clusters to start manually (they would hold port 5432)."
  fi
  # Likewise Redis and nginx: the tests start their own on free ports; the services would hold 6379 and 80.
  for service in redis-server nginx; do
    [[ " ${missing[*]} " == *" ${service} "* ]] || continue
    if command -v systemctl >/dev/null && systemctl is-active --quiet "${service}" 2>/dev/null; then
      systemctl disable --now "${service}" >/dev/null 2>&1 || true
      echo "Stopped and disabled the ${service} system service (the tests start their own on free ports)."
    elif command -v service >/dev/null && service "${service}" status >/dev/null 2>&1; then
      service "${service}" stop >/dev/null 2>&1 || true
      echo "Stopped the ${service} system service (the tests start their own on free ports)."
    fi
  done
  exit 0
fi

cat >&2 <<MSG
The tests need these Debian packages, which are not installed: ${missing[*]}
Install them, then run the tests again:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}
MSG
exit 1
