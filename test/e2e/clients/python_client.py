"""The official Python client (Debian python3-kubernetes) against a real control plane.

Usage: python3 python_client.py KUBECONFIG NAMESPACE
Prints one JSON object with what each operation saw; test/e2e/clients.test.ts asserts on it.
Every watch is bounded by timeout_seconds on the server, so nothing here can hang.
"""
import json
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

kubeconfig, ns = sys.argv[1], sys.argv[2]
config.load_kube_config(config_file=kubeconfig)
api = client.ApiClient()
core = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
out = {}


def cm(name, **data):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels={"set": "py"}), data=data)


def watch_until(stop_after, **kwargs):
    """Events (type, name) from one watch until stop_after of them arrived or the server's timeout ended it."""
    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=10, **kwargs):
        seen.append([event["type"], event["raw_object"]["metadata"].get("name")])
        if len(seen) >= stop_after:
            w.stop()
    return seen, w.resource_version


# create, get, list
for i in range(5):
    core.create_namespaced_config_map(ns, cm(f"c{i}", n=str(i)))
out["get"] = core.read_namespaced_config_map("c0", ns).data
listed = core.list_namespaced_config_map(ns, label_selector="set=py")
out["list"] = sorted(item.metadata.name for item in listed.items)
list_rv = listed.metadata.resource_version

# pagination: limit/continue
pages, names, token = 0, [], None
while True:
    # By label: the namespace also holds the root-CA publisher's kube-root-ca.crt.
    page = core.list_namespaced_config_map(ns, label_selector="set=py", limit=2, _continue=token) if token else core.list_namespaced_config_map(ns, label_selector="set=py", limit=2)
    pages += 1
    names += [item.metadata.name for item in page.items]
    token = page.metadata._continue
    if not token:
        break
out["pages"] = pages
out["paged"] = names

# the three patch types: a list body is sent as json-patch, a dict as strategic merge;
# merge patch needs its content type set by hand in this client.
core.patch_namespaced_config_map("c1", ns, [{"op": "add", "path": "/data/json", "value": "yes"}])
out["jsonPatch"] = core.read_namespaced_config_map("c1", ns).data
api.call_api(
    "/api/v1/namespaces/{namespace}/configmaps/{name}", "PATCH",
    path_params={"namespace": ns, "name": "c1"},
    header_params={"Content-Type": "application/merge-patch+json", "Accept": "application/json"},
    body={"data": {"merge": "yes", "n": None}}, auth_settings=["BearerToken"], _return_http_data_only=True,
)
out["mergePatch"] = core.read_namespaced_config_map("c1", ns).data
# strategic merge keys containers by name: patching one container's image keeps the other.
container = lambda name, image: client.V1Container(name=name, image=image)
apps.create_namespaced_deployment(ns, client.V1Deployment(
    metadata=client.V1ObjectMeta(name="d"),
    spec=client.V1DeploymentSpec(
        replicas=0,
        selector=client.V1LabelSelector(match_labels={"app": "d"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "d"}),
            spec=client.V1PodSpec(containers=[container("a", "busybox:1"), container("b", "busybox:1")]),
        ),
    ),
))
apps.patch_namespaced_deployment("d", ns, {"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "busybox:2"}]}}}})
d = apps.read_namespaced_deployment("d", ns)
out["strategicPatch"] = [[c.name, c.image] for c in d.spec.template.spec.containers]

# watch without resourceVersion: synthetic ADDED for what exists (the Watch helper sends watch=True)
seen, _ = watch_until(5, label_selector="set=py")
out["watchFromNow"] = sorted(name for _, name in seen)
# watch from the list's resourceVersion: only what changed since (c1's two patches)
seen, rv = watch_until(2, resource_version=list_rv, label_selector="set=py")
out["watchFromList"] = seen
# resume from the last event's resourceVersion: the next change only, no repeats
core.delete_namespaced_config_map("c4", ns)
seen, _ = watch_until(1, resource_version=rv, label_selector="set=py")
out["watchResumed"] = seen
# bookmarks asked with the client's bool spelling (allowWatchBookmarks=True): a quiet watch gets a BOOKMARK
w = watch.Watch()
types = []
for event in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=15, allow_watch_bookmarks=True,
                      resource_version=core.list_namespaced_config_map(ns).metadata.resource_version):
    types.append(event["type"])
    if event["type"] == "BOOKMARK":
        w.stop()
out["bookmarks"] = types

# delete, then get is a 404 Status
core.delete_namespaced_config_map("c0", ns)
try:
    core.read_namespaced_config_map("c0", ns)
    out["afterDelete"] = "found"
except ApiException as e:
    out["afterDelete"] = [e.status, json.loads(e.body)["reason"]]

print(json.dumps(out))
