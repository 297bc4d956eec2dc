#!/usr/bin/env bash
# Renders deploy/k8s/base/prometheusrule.yaml from alerts.yml, the single source of the alert rules.
#   deploy/prometheus/render-prometheusrule.sh           rewrite the PrometheusRule
#   deploy/prometheus/render-prometheusrule.sh --stdout  print it (validate.sh diffs this)
# alerts.yml's top-level `groups:` becomes `spec.groups`: indenting every non-empty line by two spaces
# under `spec:` is a faithful YAML transformation (block scalars keep their relative indentation).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/alerts.yml"
dest="$here/../k8s/base/prometheusrule.yaml"

render() {
  cat <<'HEADER'
# GENERATED from deploy/prometheus/alerts.yml by deploy/prometheus/render-prometheusrule.sh.
# Do not edit: change alerts.yml and re-run the script (deploy/validate.sh checks they agree).
# The `release` label must match your Prometheus' ruleSelector (kube-prometheus-stack default).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: nimbuspay-alerts
  labels:
    release: kube-prometheus-stack
spec:
HEADER
  # Drop alerts.yml's own header comments; everything from `groups:` on is the rule content.
  sed -n '/^groups:/,$p' "$src" | sed 's/^\(.\)/  \1/'
}

if [[ "${1:-}" == "--stdout" ]]; then
  render
else
  render >"$dest"
  echo "wrote $(realpath --relative-to="$PWD" "$dest")"
fi
