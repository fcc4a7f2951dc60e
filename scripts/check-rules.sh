#!/usr/bin/env bash
# Checks the Prometheus alerting rules. CI calls it after `apt-get install -y prometheus` (which provides promtool).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found: apt-get install -y prometheus" >&2
  exit 1
fi
promtool check rules deploy/prometheus/alerts.yml
