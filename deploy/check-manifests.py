#!/usr/bin/env python3
"""Structural checks on a rendered overlay (kubectl kustomize output), called by deploy/validate.sh.

    check-manifests.py ENV RENDERED.yaml [--rules-out FILE]

Prints one "ok: ..." or "FAIL: ..." line per check and exits 1 if any check failed, 3 if PyYAML is
missing. With --rules-out, writes the PrometheusRule's spec (a plain Prometheus rule file) to FILE so
validate.sh can run promtool on exactly what the cluster would load.
"""
import os
import re
import sys

try:
    import yaml
except ImportError:  # validate.sh reports this as a failure (a check that did not run has not passed)
    print("PyYAML not importable", file=sys.stderr)
    sys.exit(3)

LOG_NAMESPACE = "amazon-cloudwatch"
# Environment variables that are not NimbusPay configuration.
RUNTIME_VARS = {"NODE_OPTIONS"}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_settings():
    """The settings the app actually reads, as {variable: is_secret}: the table in src/platform/config-descriptors.ts,
    one `setting({ variable: '…', …, secret: true, … })` entry per variable. None if the table cannot be read."""
    try:
        with open(os.path.join(REPO, "src", "platform", "config-descriptors.ts"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    entries = re.findall(r"setting\(\{(.*?)\}\),?\n", text, flags=re.S)
    if len(entries) != text.count("setting({") or sum("secret: true" in e for e in entries) != text.count("secret: true"):
        return None  # an entry this reading split wrongly: better no table (a failed check) than a short secret list
    settings = {}
    for entry in entries:
        name = re.search(r"variable: '([A-Z][A-Z0-9_]*)'", entry)
        if name:
            settings[name.group(1)] = re.search(r"\bsecret: true\b", entry) is not None
    return settings or None


SETTINGS = config_settings()
# Names that must only ever come from a Secret, never from a ConfigMap or a literal env value: the table's secrets.
SECRET_VARS = {name for name, secret in (SETTINGS or {}).items() if secret}


failures = 0


def check(cond, what):
    global failures
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures += 1


def check_fluent_bit(env, docs):
    """The Fluent Bit DaemonSet: read-only host logs, least privilege, pinned image, and a pipeline that tails only
    this environment's containers and keeps the app's JSON fields at the top level in CDK's log group."""
    ds = [d for d in docs if d["kind"] == "DaemonSet" and d["metadata"]["name"] == "fluent-bit"]
    check(len(ds) == 1, f"[{env}] one Fluent Bit DaemonSet in {LOG_NAMESPACE}")
    check({d["kind"] for d in docs} >= {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"},
          f"[{env}] Fluent Bit: Namespace, ServiceAccount, ClusterRole(+Binding), ConfigMap, DaemonSet")
    roles = [d for d in docs if d["kind"] == "ClusterRole"]
    check(all(set(r.get("verbs", [])) <= {"get", "list", "watch"} and set(r.get("resources", [])) <= {"pods", "namespaces"}
              for d in roles for r in d.get("rules", [])), f"[{env}] Fluent Bit's ClusterRole only reads pods and namespaces")
    if not ds:
        return
    pod = ds[0]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
          and sc.get("capabilities", {}).get("drop") == ["ALL"] and not sc.get("capabilities", {}).get("add")
          and not sc.get("privileged"), f"[{env}] Fluent Bit: read-only root, no privilege escalation, every capability dropped")
    check(re.search(r"@sha256:[0-9a-f]{64}$", c.get("image", "")) is not None, f"[{env}] Fluent Bit image pinned by digest")
    res = c.get("resources", {})
    check(bool(res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory") and res.get("limits", {}).get("memory")),
          f"[{env}] Fluent Bit: cpu/memory requests and a memory limit")
    check(bool(pod.get("tolerations")), f"[{env}] Fluent Bit tolerates tainted nodes")
    host = {v["name"]: v["hostPath"]["path"] for v in pod.get("volumes", []) if "hostPath" in v}
    writable = [m["mountPath"] for m in c.get("volumeMounts", []) if m["name"] in host and not m.get("readOnly")]
    check(writable == ["/var/fluent-bit/state"], f"[{env}] Fluent Bit: host paths read-only except its state dir: {writable}")
    conf = next((d.get("data", {}).get("fluent-bit.conf", "") for d in docs if d["kind"] == "ConfigMap"), "")
    settings = set()
    for line in conf.splitlines():
        parts = line.strip().split(None, 1)
        if parts and not parts[0].startswith("#"):
            settings.add((parts[0].lower(), parts[1].strip() if len(parts) > 1 else ""))
    for key, value in [("path", "/var/log/containers/*_${APP_NAMESPACE}_*.log"), ("multiline.parser", "cri"),
                       ("merge_log", "On"), ("keep_log", "Off"), ("name", "cloudwatch_logs"),
                       ("log_group_name", "${LOG_GROUP_NAME}"), ("auto_create_group", "false"),
                       ("log_stream_template", "$kubernetes['pod_name'].$kubernetes['container_name']"),
                       ("storage.type", "filesystem")]:
        check((key, value) in settings, f"[{env}] fluent-bit.conf: {key} {value}")


def main():
    args = sys.argv[1:]
    rules_out = None
    if "--rules-out" in args:
        i = args.index("--rules-out")
        rules_out = args[i + 1]
        del args[i:i + 2]
    env, path = args
    with open(path, encoding="utf-8") as f:
        all_docs = [d for d in yaml.safe_load_all(f) if d]
    # The app's objects (namespace nimbuspay-<env> and that Namespace) and the log collector's (components/fluent-bit:
    # namespace amazon-cloudwatch and its cluster-wide RBAC), checked against different policies.
    log_kinds = {"ClusterRole", "ClusterRoleBinding"}
    logging = [d for d in all_docs if d["metadata"].get("namespace") == LOG_NAMESPACE
               or (d["kind"] == "Namespace" and d["metadata"]["name"] == LOG_NAMESPACE) or d["kind"] in log_kinds]
    docs = [d for d in all_docs if not any(d is x for x in logging)]

    def find(kind, name=None):
        return [d for d in docs if d.get("kind") == kind
                and (name is None or d["metadata"]["name"] == name)]

    def one(kind, name):
        found = find(kind, name)
        check(len(found) == 1, f"[{env}] exactly one {kind} {name}")
        return found[0] if found else None

    check(not find("Secret"), f"[{env}] no Secret objects (values come from External Secrets)")
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    check(namespaces == {f"nimbuspay-{env}"}, f"[{env}] every object in namespace nimbuspay-{env}")

    # ---- config ----
    cms = find("ConfigMap")
    check(len(cms) == 1 and cms[0]["metadata"]["name"].startswith("nimbuspay-config-"),
          f"[{env}] one hashed ConfigMap nimbuspay-config-*")
    config = cms[0].get("data", {}) if cms else {}
    # the settings table also says which variables are secrets: without it the secret checks below would pass vacuously
    check(SETTINGS is not None and "DATABASE_URL" in SECRET_VARS,
          f"[{env}] the settings table src/platform/config-descriptors.ts is read ({len(SETTINGS or {})} settings, {len(SECRET_VARS)} secret)")
    names = set(config)
    for w in find("Deployment") + find("Job"):
        for c in w["spec"]["template"]["spec"]["containers"]:
            names |= {e["name"] for e in c.get("env", [])}
    for d in find("ExternalSecret"):
        names |= {r["secretKey"] for r in d["spec"].get("data", [])}
    unknown = sorted(names - set(SETTINGS or {}) - RUNTIME_VARS)
    check(not unknown, f"[{env}] every variable set is one src/platform/config-descriptors.ts lists: {unknown or 'ok'}")
    check(config.get("NIMBUSPAY_ENV") == env, f"[{env}] NIMBUSPAY_ENV={env}")

    # ---- pods ----
    workloads = find("Deployment") + find("Job")
    for w in workloads:
        name = w["metadata"]["name"]
        pod = w["spec"]["template"]["spec"]
        check(pod.get("securityContext", {}).get("runAsNonRoot") is True, f"[{env}] {name}: runAsNonRoot")
        check(pod.get("automountServiceAccountToken") is False, f"[{env}] {name}: no service account token mounted")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            check(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
                  and "ALL" in sc.get("capabilities", {}).get("drop", []),
                  f"[{env}] {name}/{c['name']}: read-only root, no privilege escalation, drop ALL")
            res = c.get("resources", {})
            check(all(res.get(k, {}).get("memory") for k in ("requests", "limits")) and res.get("requests", {}).get("cpu"),
                  f"[{env}] {name}/{c['name']}: cpu request and memory request/limit")
            image = c.get("image", "")
            if env != "development":
                check("@sha256:" in image or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")),
                      f"[{env}] {name}/{c['name']}: image pinned ({image})")
            for e in c.get("env", []):
                if e["name"] in SECRET_VARS:
                    check("value" not in e, f"[{env}] {name}/{c['name']}: {e['name']} is not a literal value")
                if e["name"] in ("NIMBUSPAY_ENV", "WEBHOOK_ALLOW_PRIVATE_TARGETS"):
                    check(False, f"[{env}] {name}/{c['name']}: {e['name']} must come only from the ConfigMap")
    check(not (set(config) & SECRET_VARS), f"[{env}] no secret in the ConfigMap")

    def secret_refs(w):
        c = w["spec"]["template"]["spec"]["containers"][0]
        return {s["secretRef"]["name"] for s in c.get("envFrom", []) if "secretRef" in s}

    api = one("Deployment", "nimbuspay-api")
    worker = one("Deployment", "nimbuspay-worker")
    migrate = one("Job", "nimbuspay-migrate")
    ing = None
    if api:
        pod = api["spec"]["template"]["spec"]
        c = pod["containers"][0]
        check(c.get("args") == ["api"], f"[{env}] api runs the api role")
        check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"[{env}] api readiness probe /readyz")
        check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"[{env}] api liveness probe /healthz")
        check("preStop" in c.get("lifecycle", {}), f"[{env}] api has a preStop delay")
        check("replicas" not in api["spec"], f"[{env}] api replicas left to the HPA")
        keys = {t["topologyKey"] for t in pod.get("topologySpreadConstraints", [])}
        check("topology.kubernetes.io/zone" in keys, f"[{env}] api spread across zones")
        check(secret_refs(api) == {"nimbuspay-app"}, f"[{env}] api gets the app secret only")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        ing = one("Ingress", "nimbuspay-api")
        if ing:
            ann = ing["metadata"].get("annotations", {})
            check(ann.get("alb.ingress.kubernetes.io/target-type") == "ip", f"[{env}] ALB target-type ip")
            check(ann.get("alb.ingress.kubernetes.io/healthcheck-path") == "/readyz", f"[{env}] ALB health check /readyz")
            check(ann.get("alb.ingress.kubernetes.io/ssl-redirect") == "443"
                  and "HTTPS" in ann.get("alb.ingress.kubernetes.io/listen-ports", ""), f"[{env}] ALB HTTPS with redirect")
            tga = ann.get("alb.ingress.kubernetes.io/target-group-attributes", "")
            delay = int(tga.split("deregistration_delay.timeout_seconds=")[1].split(",")[0]) if "deregistration_delay" in tga else 300
            check(delay < grace, f"[{env}] ALB deregistration delay {delay}s < terminationGracePeriodSeconds {grace}s")
    if worker:
        check(worker["spec"]["template"]["spec"]["containers"][0].get("args") == ["worker"], f"[{env}] worker runs the worker role")
        check(secret_refs(worker) == {"nimbuspay-app"}, f"[{env}] worker gets the app secret only")
    if migrate:
        check(migrate["spec"]["template"]["spec"]["containers"][0].get("args") == ["migrate"], f"[{env}] Job runs the migrate role")
        check(secret_refs(migrate) == {"nimbuspay-migrate"}, f"[{env}] migrate Job gets the owner-role secret only")
    for name in ("nimbuspay-api", "nimbuspay-worker"):
        one("PodDisruptionBudget", name)
    hpa = one("HorizontalPodAutoscaler", "nimbuspay-api")
    es = {d["metadata"]["name"]: d for d in find("ExternalSecret")}
    expected_es = {"nimbuspay-app", "nimbuspay-migrate"} | ({"nimbuspay-sandbox"} if env != "production" else set())
    check(set(es) == expected_es, f"[{env}] ExternalSecrets {sorted(expected_es)}: {sorted(es)}")
    keys = {r["remoteRef"]["key"] for d in es.values() for r in d["spec"].get("data", [])}
    check(keys and all(k.startswith(f"nimbuspay/{env}/") for k in keys), f"[{env}] secrets read from nimbuspay/{env}/*: {sorted(keys)}")
    # What each Secret will hold: the keys its ExternalSecret writes into it.
    provided = {d["spec"].get("target", {}).get("name", n): {r["secretKey"] for r in d["spec"].get("data", [])}
                for n, d in es.items()}
    for w in workloads:
        for c in w["spec"]["template"]["spec"]["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    check(ref["key"] in provided.get(ref["name"], set()),
                          f"[{env}] {w['metadata']['name']}/{c['name']}: {e['name']} from secret {ref['name']} key {ref['key']}, which an ExternalSecret provides")
            for s in c.get("envFrom", []):
                if "secretRef" in s:
                    check(s["secretRef"]["name"] in provided,
                          f"[{env}] {w['metadata']['name']}/{c['name']}: secret {s['secretRef']['name']} comes from an ExternalSecret")
    app_keys = provided.get("nimbuspay-app", set())
    one("PodMonitor", "nimbuspay-api")
    one("PodMonitor", "nimbuspay-worker")
    check(any(d["metadata"]["name"] == "default-deny" for d in find("NetworkPolicy")), f"[{env}] default-deny NetworkPolicy")

    # ---- processor notifications reach the api ----
    processor = config.get("PROCESSOR", "sandbox")
    notify_path = f"/v1/processor_notifications/{processor}"
    if ing:
        matches = [(p["path"], p["backend"]) for r in ing["spec"].get("rules", []) for p in r.get("http", {}).get("paths", [])
                   if (p.get("pathType") == "Prefix" and notify_path.startswith(p["path"].rstrip("/") + "/"))
                   or (p.get("pathType") in ("Exact", "Prefix") and notify_path == p["path"])]
        longest = max(matches, key=lambda m: len(m[0]), default=None)
        check(longest is not None and longest[1].get("service", {}).get("name") == "nimbuspay-api",
              f"[{env}] the ALB routes {notify_path} to the api: {longest[0] if longest else 'no rule'}")
    api_policy = [d for d in find("NetworkPolicy") if d["spec"].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "api"]
    check(any("ipBlock" in f and any(pt.get("port") == 3000 for pt in rule.get("ports", []))
              for d in api_policy for rule in d["spec"].get("ingress", []) for f in rule.get("from", [])),
          f"[{env}] a NetworkPolicy admits the ALB to the api's port 3000 (processor notifications included)")

    # ---- environment-specific ----
    sandbox = [d for d in docs if "sandbox" in yaml.safe_dump(d).lower()]
    if env == "production":
        check(not sandbox, f"[{env}] nothing mentions the sandbox processor: {[d['kind'] + '/' + d['metadata']['name'] for d in sandbox] or 'ok'}")
        check(processor == "stripe", f"[{env}] PROCESSOR=stripe (is {config.get('PROCESSOR')})")
        check({"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRETS"} <= app_keys,
              f"[{env}] the app secret provides STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRETS")
        notif = sorted({k for ks in provided.values() for k in ks if k == "PROCESSOR_NOTIFICATION_SECRET"}
                       | {e["name"] for w in workloads for c in w["spec"]["template"]["spec"]["containers"]
                          for e in c.get("env", []) if e["name"] == "PROCESSOR_NOTIFICATION_SECRET"})
        check(not notif, f"[{env}] no PROCESSOR_NOTIFICATION_SECRET (the sandbox's; Stripe signs with STRIPE_WEBHOOK_SECRETS)")
        check(config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS") == "false", f"[{env}] WEBHOOK_ALLOW_PRIVATE_TARGETS=false")
        if hpa:
            check(hpa["spec"]["minReplicas"] >= 3, f"[{env}] api minReplicas >= 3 (is {hpa['spec']['minReplicas']})")
        if worker:
            check(worker["spec"].get("replicas", 1) >= 2, f"[{env}] worker replicas >= 2")
    else:
        check(bool(find("Deployment", "nimbuspay-sandbox-processor")) and bool(find("Service", "nimbuspay-sandbox-processor")),
              f"[{env}] sandbox-processor Deployment and Service present")
        check(config.get("SANDBOX_PROCESSOR_URL") == "http://nimbuspay-sandbox-processor:3100", f"[{env}] SANDBOX_PROCESSOR_URL points at the sandbox Service")
        check(processor == "sandbox", f"[{env}] PROCESSOR=sandbox (is {config.get('PROCESSOR')})")
        check("PROCESSOR_NOTIFICATION_SECRET" in app_keys, f"[{env}] the app secret provides PROCESSOR_NOTIFICATION_SECRET (the api verifies the sandbox's notifications)")
        sb = find("Deployment", "nimbuspay-sandbox-processor")
        if sb:
            c = sb[0]["spec"]["template"]["spec"]["containers"][0]
            check(c.get("args") == ["sandbox-processor"], f"[{env}] the sandbox Deployment runs the sandbox-processor role")
            db_ref = next((e.get("valueFrom", {}).get("secretKeyRef") for e in c.get("env", []) if e["name"] == "SANDBOX_DATABASE_URL"), None)
            check(bool(db_ref) and db_ref["name"] == "nimbuspay-sandbox",
                  f"[{env}] the sandbox gets SANDBOX_DATABASE_URL from the nimbuspay-sandbox secret")
        check("SANDBOX_DATABASE_URL" not in app_keys and not any(
                  e["name"] == "SANDBOX_DATABASE_URL" for w in (api, worker, migrate) if w
                  for c in w["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])),
              f"[{env}] api, worker and migrate never get the sandbox's database credentials")
        sb_policy = find("NetworkPolicy", "nimbuspay-sandbox-processor")
        check(bool(sb_policy) and any(pt.get("port") == 5432 for rule in sb_policy[0]["spec"].get("egress", []) for pt in rule.get("ports", [])),
              f"[{env}] the sandbox may reach PostgreSQL (egress 5432)")

    # ---- log collection (components/fluent-bit) ----
    check_fluent_bit(env, logging)

    # ---- alert rules ----
    rules = find("PrometheusRule")
    check(len(rules) == 1, f"[{env}] one PrometheusRule")
    if rules and rules_out:
        with open(rules_out, "w", encoding="utf-8") as f:
            yaml.safe_dump(rules[0]["spec"], f, sort_keys=False)

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
