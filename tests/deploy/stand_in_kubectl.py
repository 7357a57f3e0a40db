#!/usr/bin/env python3
"""STAND-IN kubectl for sugang's tests: a TEST DOUBLE, not a cluster. No Kubernetes API server
can run on the test machines, so this plays one K3s cluster for `sugang deploy`, keeping what
is applied in a JSON state file, and answers as the real kubectl would for each case:

  kustomize DIR                        the real kubectl renders
  api-resources --no-headers           the built-in kinds, K3s's (HelmChart, Traefik's), and
                                       the kinds of each operator chart once it is applied
  apply --server-side -f -             stores the objects (managedFields: the field manager);
                                       CloudNativePG's webhook fails the first
                                       STAND_IN_WEBHOOK_FAILS applies of its resources; KEDA's
                                       refuses a ScaledObject while an HPA scales the same target
  get/delete/wait/logs                 from the state; pods, the Job's outcome and the
                                       operators' readiness as the environment says

Environment: STAND_IN_LOG (every call is recorded), STAND_IN_STATE (the cluster), REAL_KUBECTL,
STAND_IN_CONTEXT, and the scenario knobs STAND_IN_WEBHOOK_FAILS, STAND_IN_OPERATOR_SLOW (calls
before an operator is Available), STAND_IN_JOB (complete|failed), STAND_IN_POD_WAITING
("component:container:reason").
"""

import datetime
import json
import os
import sys

args = sys.argv[1:]
stdin = sys.stdin.read() if "-f" in args and "-" in args else None
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "stdin": stdin}) + "\n")
if args[:1] == ["kustomize"]:
    os.execv(os.environ["REAL_KUBECTL"], [os.environ["REAL_KUBECTL"], *args])
if args[:2] == ["--context", "nowhere"]:
    sys.exit('error: context "nowhere" does not exist')
if args[:2] == ["--context", os.environ.get("STAND_IN_CONTEXT", "")]:
    args = args[2:]

import yaml  # noqa: E402  (after the exec: kustomize needs nothing of this)

STATE = os.environ["STAND_IN_STATE"]
state = {"objects": {}, "counters": {}}
if os.path.exists(STATE):
    with open(STATE) as f:
        state = json.load(f)
objects = state["objects"]
counters = state["counters"]

# (NAME, APIVERSION, NAMESPACED, KIND) as `kubectl api-resources` prints them
BUILT_IN = [
    ("configmaps", "v1", True, "ConfigMap"),
    ("namespaces", "v1", False, "Namespace"),
    ("nodes", "v1", False, "Node"),
    ("persistentvolumeclaims", "v1", True, "PersistentVolumeClaim"),
    ("pods", "v1", True, "Pod"),
    ("secrets", "v1", True, "Secret"),
    ("serviceaccounts", "v1", True, "ServiceAccount"),
    ("services", "v1", True, "Service"),
    ("customresourcedefinitions", "apiextensions.k8s.io/v1", False, "CustomResourceDefinition"),
    ("daemonsets", "apps/v1", True, "DaemonSet"),
    ("deployments", "apps/v1", True, "Deployment"),
    ("replicasets", "apps/v1", True, "ReplicaSet"),
    ("statefulsets", "apps/v1", True, "StatefulSet"),
    ("horizontalpodautoscalers", "autoscaling/v2", True, "HorizontalPodAutoscaler"),
    ("cronjobs", "batch/v1", True, "CronJob"),
    ("jobs", "batch/v1", True, "Job"),
    ("ingresses", "networking.k8s.io/v1", True, "Ingress"),
    ("networkpolicies", "networking.k8s.io/v1", True, "NetworkPolicy"),
    ("poddisruptionbudgets", "policy/v1", True, "PodDisruptionBudget"),
    ("priorityclasses", "scheduling.k8s.io/v1", False, "PriorityClass"),
    ("roles", "rbac.authorization.k8s.io/v1", True, "Role"),
    ("rolebindings", "rbac.authorization.k8s.io/v1", True, "RoleBinding"),
    ("helmchartconfigs", "helm.cattle.io/v1", True, "HelmChartConfig"),
    ("helmcharts", "helm.cattle.io/v1", True, "HelmChart"),
    ("ingressroutes", "traefik.io/v1alpha1", True, "IngressRoute"),
    ("middlewares", "traefik.io/v1alpha1", True, "Middleware"),
]
# what each operator chart installs: its CRDs' kinds, and the Deployments it runs
CHARTS = {
    "kube-prometheus-stack": (
        [
            ("podmonitors", "monitoring.coreos.com/v1", True, "PodMonitor"),
            ("prometheusrules", "monitoring.coreos.com/v1", True, "PrometheusRule"),
            ("servicemonitors", "monitoring.coreos.com/v1", True, "ServiceMonitor"),
        ],
        ["kube-prometheus-stack-operator", "kube-prometheus-stack-grafana"],
    ),
    "cloudnative-pg": (
        [
            ("clusters", "postgresql.cnpg.io/v1", True, "Cluster"),
            ("poolers", "postgresql.cnpg.io/v1", True, "Pooler"),
            ("scheduledbackups", "postgresql.cnpg.io/v1", True, "ScheduledBackup"),
        ],
        ["cloudnative-pg"],
    ),
    "keda": (
        [("scaledobjects", "keda.sh/v1alpha1", True, "ScaledObject")],
        ["keda-operator", "keda-operator-metrics-apiserver", "keda-admission-webhooks"],
    ),
}


def save():
    with open(STATE, "w") as f:
        json.dump(state, f)


def out(value):
    print(json.dumps(value) if not isinstance(value, str) else value)


def group(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def key(obj):
    meta = obj["metadata"]
    return "|".join(
        [group(obj["apiVersion"]), obj["kind"], meta.get("namespace", ""), meta["name"]]
    )


def installed_charts():
    return [
        o["metadata"]["name"]
        for o in objects.values()
        if o["kind"] == "HelmChart" and o["metadata"]["name"] in CHARTS
    ]


def served():
    rows = list(BUILT_IN)
    for chart in installed_charts():
        rows += CHARTS[chart][0]
    return rows


def resource_of(name):
    """(group, kind) of a resource as kubectl takes it: "deployments.apps", "secrets"."""
    plural, _, grp = name.partition(".")
    for row in served():
        if row[0] == plural and group(row[1]) == grp:
            return group(row[1]), row[3]
    sys.exit(f'error: the server doesn\'t have a resource type "{name}"')


def option(name, default=None):
    return args[args.index(name) + 1] if name in args else default


def namespace():
    return option("-n", "")


def fail(message):
    sys.stderr.write(message + "\n")
    sys.exit(1)


def count(name):
    counters[name] = counters.get(name, 0) + 1
    save()
    return counters[name]


def webhook_refusal(docs):
    cnpg = any(group(d["apiVersion"]) == "postgresql.cnpg.io" for d in docs)
    if cnpg and count("cnpg-applies") <= int(os.environ.get("STAND_IN_WEBHOOK_FAILS", "0")):
        return (
            'Error from server (InternalError): error when creating "STDIN": Internal error '
            'occurred: failed calling webhook "mcluster.cnpg.io": failed to call webhook: Post '
            '"https://cnpg-webhook-service.cnpg-system.svc:443/mutate-postgresql-cnpg-io-v1-'
            'cluster?timeout=10s": no endpoints available for service "cnpg-webhook-service"'
        )
    for d in docs:
        if d["kind"] == "ScaledObject":
            target = d["spec"]["scaleTargetRef"]["name"]
            for o in objects.values():
                if o["kind"] == "HorizontalPodAutoscaler" and (
                    o["spec"]["scaleTargetRef"]["name"] == target
                    and not o["metadata"].get("ownerReferences")
                ):
                    return (
                        'Error from server (Forbidden): admission webhook "vscaledobject.kb.io" '
                        f"denied the request: the workload '{target}' of type 'apps/v1.Deployment'"
                        f" is already managed by the hpa '{o['metadata']['name']}'"
                    )
    return None


def apply():
    docs = [d for d in yaml.safe_load_all(stdin) if d]
    refusal = webhook_refusal(docs)
    if refusal:
        fail(refusal)
    manager = next(a.split("=", 1)[1] for a in args if a.startswith("--field-manager="))
    for d in docs:
        old = objects.get(key(d), {})
        d["metadata"]["creationTimestamp"] = old.get("metadata", {}).get(
            "creationTimestamp",
            datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        d["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply"}]
        if d["kind"] == "Job":
            d["status"] = {}
        objects[key(d)] = d
        print(f"{d['kind'].lower()}/{d['metadata']['name']} serverside-applied")
    save()


def listing(items):
    out({"apiVersion": "v1", "kind": "List", "items": items})


def strip(obj):
    if "--show-managed-fields" in args:
        return obj
    return {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "managedFields"}}


def job_status():
    if os.environ.get("STAND_IN_POD_WAITING", "").startswith("migrate:"):
        return {"active": 1}  # a pod that cannot start: no condition, ever (backoffLimit aside)
    outcome = os.environ.get("STAND_IN_JOB", "complete")
    if outcome == "failed":
        return {
            "failed": 21,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        }
    return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}


def pods(selector):
    wanted = os.environ.get("STAND_IN_POD_WAITING", "")
    if not wanted:
        return []
    component, container, reason = wanted.split(":")
    label = (
        "job-name=sugang-migrate"
        if component == "migrate"
        else f"app.kubernetes.io/component={component}"
    )
    if selector != label:
        return []
    messages = {
        "ErrImagePull": 'failed to pull and unpack image "docker.io/library/sugang:0.1.0": '
        "pull access denied, repository does not exist or may require authorization",
        "CrashLoopBackOff": "back-off 40s restarting failed container",
    }
    name = "sugang-migrate-x7k2p" if component == "migrate" else "sugang-api-5d9c7b8f4-q2w8e"
    status = {
        "name": container,
        "image": "sugang:0.1.0",
        "restartCount": 3,
        "state": {"waiting": {"reason": reason, "message": messages.get(reason, "")}},
    }
    where = "initContainerStatuses" if container == "wait-for-schema" else "containerStatuses"
    labels = (
        {"job-name": "sugang-migrate"}
        if component == "migrate"
        else {"app.kubernetes.io/component": "api", "pod-template-hash": "5d9c7b8f4"}
    )
    return [{"metadata": {"name": name, "labels": labels}, "status": {where: [status]}}]


def get():
    rest = [a for a in args if not a.startswith("-")]
    rest = rest[rest.index("get") + 1 :]
    what = rest[0]
    ns = namespace()
    if what == "crd":
        name = rest[1]
        plural, _, grp = name.partition(".")
        present = any(r[0] == plural and group(r[1]) == grp for r in served())
        out(f"customresourcedefinition.apiextensions.k8s.io/{name}" if present else "")
    elif what == "nodes":
        out(
            {
                "items": [
                    {
                        "status": {
                            "addresses": [
                                {"type": "InternalIP", "address": f"192.168.0.{i}"},
                                {"type": "Hostname", "address": f"node{i}"},
                            ]
                        }
                    }
                    for i in (11, 12)
                ]
            }
        )
    elif what == "service" and ns == "kube-system":
        web = int(os.environ.get("STAND_IN_WEB_NODE_PORT", "30080"))
        out(
            {
                "spec": {
                    "type": "LoadBalancer",
                    "ports": [
                        {"name": "web", "port": 80, "nodePort": web},
                        {"name": "websecure", "port": 443, "nodePort": 30443},
                    ],
                }
            }
        )
    elif what == "namespace":
        found = objects.get(f"|Namespace||{rest[1]}")
        out(found if found else "")
    elif what == "job":
        found = objects.get(f"batch|Job|{ns}|{rest[1]}")
        if found is None:
            if "--ignore-not-found" in args:
                out("")
                return
            fail(f'Error from server (NotFound): jobs.batch "{rest[1]}" not found')
        if not found.get("status"):
            found["status"] = job_status()
            save()
        out(found)
    elif what == "deployments":
        names = []
        for chart in installed_charts():
            chart_obj = objects[f"helm.cattle.io|HelmChart|kube-system|{chart}"]
            if chart_obj["spec"]["targetNamespace"] == ns:
                names = CHARTS[chart][1]
        calls = count(f"deployments-{ns}")
        ready = calls > int(os.environ.get("STAND_IN_OPERATOR_SLOW", "0"))
        listing(
            [
                {
                    "metadata": {"name": n},
                    "status": {
                        "conditions": [
                            {"type": "Available", "status": "True" if ready else "False"}
                        ]
                    },
                }
                for n in names
            ]
        )
    elif what == "deployment":
        first = count("api-rollout") == 1
        ready = 1 if first else 3
        out(
            {
                "metadata": {"generation": 2},
                "spec": {"replicas": 3},
                "status": {
                    "observedGeneration": 2,
                    "replicas": 3,
                    "updatedReplicas": ready,
                    "readyReplicas": ready,
                },
            }
        )
    elif what == "replicasets":
        listing(
            [
                {
                    "metadata": {
                        "name": "sugang-api-5d9c7b8f4",
                        "labels": {"pod-template-hash": "5d9c7b8f4"},
                        "annotations": {"deployment.kubernetes.io/revision": "2"},
                        "ownerReferences": [{"kind": "Deployment", "name": "sugang-api"}],
                    }
                }
            ]
        )
    elif "/" in what:  # one object: "statefulsets.apps/sugang-postgres"
        resource, name = what.split("/")
        grp, kind = resource_of(resource)
        found = objects.get("|".join([grp, kind, ns, name]))
        if found is None and "--ignore-not-found" not in args:
            fail(f'Error from server (NotFound): {resource} "{name}" not found')
        out(found or "")
    elif what == "pods":
        listing(pods(option("-l")))
    elif what == "secrets":
        label, _, value = option("-l").partition("=")
        listing(
            [
                o
                for o in objects.values()
                if o["kind"] == "Secret"
                and o["metadata"].get("namespace", "") == ns
                and o["metadata"].get("labels", {}).get(label) == value
            ]
        )
    else:  # resource lists: "deployments.apps,secrets,..." with a label selector
        kinds = {resource_of(name) for name in what.split(",")}
        selector = option("-l")
        label, _, value = selector.partition("=")
        everywhere = "--all-namespaces" in args or "-A" in args
        listing(
            [
                strip(o)
                for o in objects.values()
                if (group(o["apiVersion"]), o["kind"]) in kinds
                and o["metadata"].get("labels", {}).get(label) == value
                and (everywhere or o["metadata"].get("namespace", "") == ns)
            ]
        )


def delete():
    rest = [a for a in args if not a.startswith("-") and a != namespace()]
    rest = rest[rest.index("delete") + 1 :]
    ns = namespace()
    if rest[0] == "job":
        objects.pop(f"batch|Job|{ns}|{rest[1]}", None)
        print(f'job.batch "{rest[1]}" deleted')
    else:
        for target in rest:
            resource, name = target.split("/")
            grp, kind = resource_of(resource)
            removed = objects.pop("|".join([grp, kind, ns, name]), None)
            if removed is not None:
                print(f'{resource} "{name}" deleted')
    save()


if args[0] == "api-resources":
    print("\n".join(f"{n:<28} {v:<32} {str(ns).lower():<6} {k}" for n, v, ns, k in served()))
elif args[0] == "apply":
    apply()
elif args[0] == "wait":
    print("condition met")
elif "get" in args:
    get()
elif "delete" in args:
    delete()
elif "logs" in args:
    print('sqlalchemy.exc.OperationalError: password authentication failed for user "sugang"')
else:
    sys.exit(f"stand-in kubectl: unexpected call {args}")
