#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (Redis, Caddy, nginx, Chromium, wrk)
# when they are missing. Idempotent and quiet when everything is present.
set -euo pipefail

declare -A wanted=(
  [redis-server]=redis-server
  [redis-cli]=redis-tools
  [caddy]=caddy
  [nginx]=nginx-light
  [chromium]=chromium
  [wrk]=wrk
)

missing=()
for command in "${!wanted[@]}"; do
  command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || missing+=("${wanted[$command]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo -n)
else
  echo "missing system packages: ${missing[*]} (run as root or install them with apt-get)" >&2
  exit 1
fi

echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the services it installs; the tests start their own instances on free ports.
# Only the services of packages installed just now are stopped: one the machine already ran
# is its owner's.
declare -A service_of=([redis-server]=redis-server [nginx-light]=nginx [caddy]=caddy)
for package in "${missing[@]}"; do
  service=${service_of[$package]:-}
  [ -n "$service" ] || continue
  "${sudo[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || "${sudo[@]}" service "$service" stop >/dev/null 2>&1 || true
done
