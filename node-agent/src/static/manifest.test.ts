import { describe, expect, it } from "vitest";
import { isManifestName, parseManifest } from "./manifest.ts";
import { mirrorOf, mirrors } from "./mirror.ts";

const SEEN = new Date("2026-01-02T03:04:05.000Z");
const YAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: { app: web }
spec:
  containers:
  - name: main
    image: registry.example/web:v1
`;

describe("static pod manifests", () => {
  it("become pods named <name>-<node> in default, bound to the node, with the kubelet's annotations and a hash UID", () => {
    const pod = parseManifest(YAML, "/m/web.yaml", "Node-1", SEEN);
    expect(pod.metadata.name).toBe("web-node-1");
    expect(pod.metadata.namespace).toBe("default");
    expect(pod.metadata.labels).toEqual({ app: "web" });
    expect(pod.spec.nodeName).toBe("Node-1");
    expect(pod.metadata.uid).toMatch(/^[0-9a-f]{32}$/);
    expect(pod.metadata.annotations).toEqual({
      "kubernetes.io/config.source": "file",
      "kubernetes.io/config.hash": pod.metadata.uid,
      "kubernetes.io/config.seen": "2026-01-02T03:04:05.000Z",
    });
    expect((pod.spec as { tolerations?: unknown[] }).tolerations).toEqual([
      { operator: "Exists", effect: "NoExecute" },
    ]);
  });

  it("the same file gives the same UID (adopted after a restart); a changed file, node or path a new one", () => {
    const uid = (text: string, file = "/m/web.yaml", node = "n1") =>
      parseManifest(text, file, node, SEEN).metadata.uid;
    expect(uid(YAML)).toBe(parseManifest(YAML, "/m/web.yaml", "n1", new Date()).metadata.uid);
    expect(uid(YAML.replace("web:v1", "web:v2"))).not.toBe(uid(YAML));
    expect(uid(YAML, "/m/other.yaml")).not.toBe(uid(YAML));
    expect(uid(YAML, "/m/web.yaml", "n2")).not.toBe(uid(YAML));
    // JSON is YAML: the same object from a .json file parses alike.
    const json = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "j", namespace: "kube-system" },
      spec: { containers: [{ name: "c", image: "i" }] },
    });
    expect(parseManifest(json, "/m/j.json", "n1", SEEN).metadata.namespace).toBe("kube-system");
  });

  it("an invalid manifest throws a message saying what is wrong", () => {
    const bad: [string, RegExp][] = [
      ["{ not yaml: [", /not YAML or JSON/],
      ["- a\n- b\n", /not an object/],
      [YAML.replace("kind: Pod", "kind: Deployment"), /want apiVersion v1, kind Pod/],
      [YAML.replace("name: web", "name: Web_1"), /metadata.name "Web_1" is not a DNS subdomain/],
      [YAML.replace(/ {2}containers:[\s\S]*/, "  containers: []\n"), /spec.containers must not be empty/],
      [
        YAML.replace("    image: registry.example/web:v1\n", ""),
        /spec.containers\[0\] needs a name and an image/,
      ],
    ];
    for (const [text, message] of bad)
      expect(() => parseManifest(text, "/m/x.yaml", "n1", SEEN)).toThrow(message);
  });

  it("reads only visible YAML and JSON files", () => {
    expect(["a.yaml", "b.yml", "c.json", "D.YAML"].every(isManifestName)).toBe(true);
    expect([".a.yaml.swp", ".hidden.yaml", "a.yaml~", "notes.txt"].some(isManifestName)).toBe(false);
  });

  it("the mirror pod carries the hash as config.mirror and the Node as its controller, and no UID of its own", () => {
    const pod = parseManifest(YAML, "/m/web.yaml", "n1", SEEN);
    const mirror = mirrorOf(pod, { name: "n1", uid: "node-uid" });
    expect(mirror.metadata.uid).toBeUndefined();
    expect(mirror.metadata.annotations?.["kubernetes.io/config.mirror"]).toBe(pod.metadata.uid);
    expect(mirror.metadata.ownerReferences).toEqual([
      { apiVersion: "v1", kind: "Node", name: "n1", uid: "node-uid", controller: true },
    ]);
    expect(mirrors(mirror, pod)).toBe(true);
    const changed = parseManifest(YAML.replace("web:v1", "web:v2"), "/m/web.yaml", "n1", SEEN);
    expect(mirrors(mirror, changed)).toBe(false);
    expect(mirrors({ ...mirror, metadata: { ...mirror.metadata, deletionTimestamp: "x" } }, pod)).toBe(false);
  });
});
