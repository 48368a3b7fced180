import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import { FakeClient } from "../../workers/reconcile/testing/fake-client.ts";
import { ConfigError } from "./pod/context.ts";
import type { Pod } from "./pod/k8s.ts";
import { apiSources, preparePod, type SourceReader, SubPathError } from "./prepare.ts";

let podDir: string;
let configMaps: Record<string, Record<string, string>>;
const bytes = (m?: Record<string, string>) =>
  m && Object.fromEntries(Object.entries(m).map(([k, v]) => [k, new TextEncoder().encode(v)]));
const sources: SourceReader = {
  configMap: async (_ns, name) => bytes(configMaps[name]),
  secret: async (_ns, name) => bytes(name === "creds" ? { user: "admin", pass: "s3cret" } : undefined),
};

/** The names a container sees (kubelet's `..data` and timestamp dirs hidden). */
const visible = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith(".."));

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
    // configMap, secret and downwardAPI volumes are read-only whatever the pod says, as in kubelet.
    expect(mounts.map((m) => [m.containerPath, m.readOnly])).toEqual([
      ["/etc/config", true],
      ["/etc/secret", true],
      ["/etc/info", true],
      ["/tmp", false],
    ]);
    const [config, secret, info] = mounts.map((m) => m.hostPath);
    expect(readFileSync(join(config, "sub/colour.txt"), "utf8")).toBe("blue");
    expect(visible(config)).toEqual(["sub"]);
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

describe("volume writes stay inside the volume", () => {
  let outside: string;
  beforeEach(() => {
    outside = mkdtempSync(join(tmpdir(), "prepare-outside-"));
    writeFileSync(join(outside, "colour.txt"), "canary");
  });
  afterEach(() => {
    expect(readdirSync(outside)).toEqual(["colour.txt"]);
    expect(readFileSync(join(outside, "colour.txt"), "utf8")).toBe("canary");
    rmSync(outside, { recursive: true, force: true });
  });

  it("writes the kubelet layout (..data swapped by rename, keys as links) and swaps it on update", async () => {
    const p = pod();
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    const config = join(podDir, "volumes/config");
    const first = readlinkSync(join(config, "..data"));
    expect(first).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\w+$/);
    expect(readlinkSync(join(config, "sub"))).toBe("..data/sub");
    expect(statSync(join(config, "..data/sub/colour.txt")).mode & 0o777).toBe(0o644);
    // Unchanged sources leave the same directory in place.
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(readlinkSync(join(config, "..data"))).toBe(first);
    configMaps.cfg.color = "green";
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    const second = readlinkSync(join(config, "..data"));
    expect(second).not.toBe(first);
    expect(existsSync(join(config, first))).toBe(false);
    expect(readdirSync(config).sort()).toEqual([second, "..data", "sub"].sort());
    expect(readFileSync(join(config, "sub/colour.txt"), "utf8")).toBe("green");
  });

  it("does not write through a link planted in the volume", async () => {
    const p = pod();
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    const config = join(podDir, "volumes/config");
    // What a container could leave behind if the volume were writable to it.
    rmSync(join(config, "sub"), { recursive: true, force: true });
    symlinkSync(outside, join(config, "sub"));
    rmSync(join(config, "..data"), { recursive: true, force: true });
    configMaps.cfg.color = "green";
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(readlinkSync(join(config, "sub"))).toBe("..data/sub");
    expect(readFileSync(join(config, "sub/colour.txt"), "utf8")).toBe("green");
  });

  it("rewrites a damaged volume (..data dangling, a link inside the data dir) instead of failing", async () => {
    const p = pod();
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    const config = join(podDir, "volumes/config");
    const data = join(config, readlinkSync(join(config, "..data")));
    rmSync(join(data, "sub/colour.txt"));
    symlinkSync(join(outside, "colour.txt"), join(data, "sub/colour.txt"));
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(lstatSync(join(config, "..data/sub/colour.txt")).isFile()).toBe(true);
    rmSync(join(config, readlinkSync(join(config, "..data"))), { recursive: true });
    await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    expect(readFileSync(join(config, "sub/colour.txt"), "utf8")).toBe("blue");
  });

  it("refuses keys and item paths that would leave the volume or clash with ..data", async () => {
    for (const [key, path] of [
      ["../../colour.txt", undefined],
      ["color", "../colour.txt"],
      ["color", "sub/../../colour.txt"],
      ["color", join(outside, "colour.txt")],
      ["color", "..data"],
    ] as const) {
      configMaps = { cfg: { [key]: "pwned" } };
      const p = pod({
        volumes: [{ name: "config", configMap: { name: "cfg", items: path ? [{ key, path }] : undefined } }],
      });
      p.spec.containers[0].env = [];
      p.spec.containers[0].envFrom = [];
      p.spec.containers[0].volumeMounts = [];
      const error = await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources).catch((e) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/must not|must be relative/);
    }
  });

  it("writes a projected volume from configMap, secret and downwardAPI sources, read-only", async () => {
    const p = pod({
      volumes: [
        {
          name: "all",
          projected: {
            defaultMode: 0o440,
            sources: [
              { configMap: { name: "cfg", items: [{ key: "color", path: "cfg/color" }] } },
              { secret: { name: "creds", items: [{ key: "pass", path: "pass", mode: 0o400 }] } },
              { downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
            ],
          },
        },
      ],
    });
    p.spec.containers[0].volumeMounts = [{ name: "all", mountPath: "/all", readOnly: false }];
    const prepared = await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
    const [mount] = prepared.mounts(p.spec.containers[0]);
    expect(mount.readOnly).toBe(true);
    expect(visible(mount.hostPath).sort()).toEqual(["cfg", "name", "pass"]);
    expect(readFileSync(join(mount.hostPath, "cfg/color"), "utf8")).toBe("blue");
    expect(statSync(join(mount.hostPath, "cfg/color")).mode & 0o777).toBe(0o440);
    expect(statSync(join(mount.hostPath, "pass")).mode & 0o777).toBe(0o400);
    expect(readFileSync(join(mount.hostPath, "name"), "utf8")).toBe("p");
    p.spec.volumes = [
      {
        name: "all",
        projected: { sources: [{ configMap: { name: "cfg", items: [{ key: "color", path: "../x" }] } }] },
      },
    ];
    await expect(preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources)).rejects.toThrow(/must not contain/);
  });

  it("resolves subPath and subPathExpr inside the volume and refuses links out of it", async () => {
    const p = pod();
    p.spec.containers[0].env = [{ name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }];
    const scratch = join(podDir, "volumes/scratch");
    const mountsOf = async (mounts: NonNullable<Pod["spec"]["containers"][0]["volumeMounts"]>) => {
      p.spec.containers[0].volumeMounts = mounts;
      const prepared = await preparePod(p, "10.0.0.9", podDir, "192.0.2.1", sources);
      return prepared.mounts(p.spec.containers[0]);
    };
    await mountsOf([]);
    // Links a container could have made in its emptyDir.
    symlinkSync(outside, join(scratch, "out"));
    symlinkSync("../../../../../../../../..", join(scratch, "up"));
    mkdirSync(join(scratch, "real"));
    symlinkSync("real", join(scratch, "in"));
    const ok = await mountsOf([
      { name: "scratch", mountPath: "/a", subPath: "new/dir" },
      { name: "scratch", mountPath: "/b", subPath: "in" },
      { name: "scratch", mountPath: "/c", subPathExpr: "pods/$(POD)" },
      { name: "config", mountPath: "/d", subPath: "sub/colour.txt" },
    ]);
    expect(ok.map((m) => m.hostPath)).toEqual([
      join(scratch, "new/dir"),
      join(scratch, "real"),
      join(scratch, "pods/p"),
      join(podDir, "volumes/config", readlinkSync(join(podDir, "volumes/config/..data")), "sub/colour.txt"),
    ]);
    expect(ok[3].readOnly).toBe(true);
    expect(lstatSync(join(scratch, "new/dir")).isDirectory()).toBe(true);
    for (const subPath of ["out", "out/colour.txt", "up/tmp", "in/../../x", "/etc"]) {
      const error = await mountsOf([{ name: "scratch", mountPath: "/x", subPath }]).catch((e) => e);
      expect(error, subPath).toBeInstanceOf(SubPathError);
      expect(error.reason).toBe("CreateContainerConfigError");
      expect(error.message).toMatch(
        /failed to prepare subPath for volumeMount "scratch" of container "main"/,
      );
    }
  });
});

describe("persistentVolumeClaim volumes", () => {
  it("mount the bound volume's directory (made 0777 when missing), wait while unbound, and keep data across pods", async () => {
    const storage = join(podDir, "storage");
    const claim = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "ns1" },
      spec: { accessModes: ["ReadWriteOnce"] },
      status: { phase: "Pending" },
    };
    const client = new FakeClient([{ ref: R.persistentvolumeclaims, objects: [claim] }]);
    const withClaim = (uid: string): Pod => ({
      metadata: { name: uid, namespace: "ns1", uid },
      spec: {
        containers: [{ name: "main", volumeMounts: [{ name: "d", mountPath: "/data" }] }],
        volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }],
      },
    });
    const reader = apiSources(client);
    await expect(preparePod(withClaim("a"), "", join(podDir, "a"), "", reader)).rejects.toThrow(
      new ConfigError('persistentvolumeclaim "data" is not bound yet'),
    );
    client.put(R.persistentvolumes, {
      metadata: { name: "pvc-1" },
      spec: { hostPath: { path: join(storage, "pvc-1"), type: "DirectoryOrCreate" } },
    });
    client.put(R.persistentvolumeclaims, {
      ...claim,
      spec: { volumeName: "pvc-1" },
      status: { phase: "Bound" },
    });
    const first = withClaim("a");
    const mounts = (await preparePod(first, "", join(podDir, "a"), "", reader)).mounts(
      first.spec.containers[0],
    );
    expect(mounts).toEqual([{ hostPath: join(storage, "pvc-1"), containerPath: "/data", readOnly: false }]);
    expect(statSync(join(storage, "pvc-1")).mode & 0o777).toBe(0o777);
    writeFileSync(join(mounts[0].hostPath, "kept"), "hello");
    const second = withClaim("b");
    const again = (await preparePod(second, "", join(podDir, "b"), "", reader)).mounts(
      second.spec.containers[0],
    );
    expect(readFileSync(join(again[0].hostPath, "kept"), "utf8")).toBe("hello");
  });
});
