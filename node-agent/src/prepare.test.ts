import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "./pod/context.ts";
import type { Pod } from "./pod/k8s.ts";
import { preparePod, type SourceReader } from "./prepare.ts";

let podDir: string;
let configMaps: Record<string, Record<string, string>>;
const bytes = (m?: Record<string, string>) =>
  m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new TextEncoder().encode(v)]));
const sources: SourceReader = {
  configMap: async (_ns, name) => bytes(configMaps[name]),
  secret: async (_ns, name) => bytes(name === "creds" ? { user: "admin", pass: "s3cret" } : undefined),
};

function pod(extra: Partial<Pod["spec"]> = {}): Pod {
  return {
    metadata: { name: "p", namespace: "ns1", uid: "u-1", labels: { app: "x", tier: "web" } },
    spec: {
      nodeName: "n1",
      containers: [
        {
          name: "main",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "$(A)-two-$$(A)" },
            { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
            { name: "USER", valueFrom: { secretKeyRef: { name: "creds", key: "user" } } },
            { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
            { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          envFrom: [{ prefix: "CFG_", configMapRef: { name: "cfg" } }],
          volumeMounts: [
            { name: "config", mountPath: "/etc/config" },
            { name: "secret", mountPath: "/etc/secret", readOnly: true },
            { name: "info", mountPath: "/etc/info" },
            { name: "scratch", mountPath: "/tmp" },
          ],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: "cfg", items: [{ key: "color", path: "sub/colour.txt" }] } },
        { name: "secret", secret: { secretName: "creds" } },
        {
          name: "info",
          downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
        },
        { name: "scratch", emptyDir: {} },
      ],
      ...extra,
    },
  };
}

beforeEach(() => {
  podDir = mkdtempSync(join(tmpdir(), "prepare-"));
  configMaps = { cfg: { color: "blue", size: "L" } };
});
afterEach(() => rmSync(podDir, { recursive: true, force: true }));

describe("volumes and env", () => {
  it("resolves every env source, including $(VAR) expansion and envFrom with a prefix", async () => {
    const p = pod();
    const prepared = await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(prepared.env(p.spec.containers[0])).toEqual({
      CFG_color: "blue",
      CFG_size: "L",
      A: "1",
      B: "1-two-$(A)",
      COLOR: "blue",
      USER: "admin",
      POD: "p",
      NS: "ns1",
      IP: "10.0.0.9",
      NODE: "n1",
    });
  });

  it("writes configMap items, secrets and downward API files, mounts them, and follows source updates", async () => {
    const p = pod();
    const prepared = await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    const mounts = prepared.mounts(p.spec.containers[0]);
    expect(mounts.map((m) => [m.containerPath, m.readOnly])).toEqual([
      ["/etc/config", false],
      ["/etc/secret", true],
      ["/etc/info", false],
      ["/tmp", false],
    ]);
    const [config, secret, info] = mounts.map((m) => m.hostPath);
    expect(readFileSync(join(config, "sub/colour.txt"), "utf8")).toBe("blue");
    expect(readdirSync(config)).toEqual(["sub"]);
    expect(readFileSync(join(secret, "pass"), "utf8")).toBe("s3cret");
    expect(readFileSync(join(info, "labels"), "utf8")).toBe('app="x"\ntier="web"');
    configMaps.cfg.color = "green";
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(readFileSync(join(config, "sub/colour.txt"), "utf8")).toBe("green");
  });

  it("reports missing sources as ConfigError unless optional", async () => {
    configMaps = {};
    await expect(preparePod(pod(), "10.0.0.9", podDir, "192.0.2.1", sources)).rejects.toBeInstanceOf(
      ConfigError,
    );
    const optional = pod({
      volumes: [{ name: "config", configMap: { name: "cfg", optional: true } }],
    });
    optional.spec.containers[0].env = [
      { name: "X", valueFrom: { configMapKeyRef: { name: "cfg", key: "k", optional: true } } },
    ];
    optional.spec.containers[0].envFrom = [];
    const prepared = await preparePod(optional, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(prepared.env(optional.spec.containers[0])).toEqual({});
  });
});
