/**
 * End-to-end, as an attacker with a crafted image and a pod: the real control
 * plane (workerd via Miniflare) with its built-in registry (images pushed to
 * /v2/, pulled through the loopback pull-only endpoint `npm start` gives the
 * agents), the real node agent CLI and real kubectl.
 * Crafted WASM images whose layers climb out through a symlink chain, or
 * whose entrypoint is a link to a host file, must not write or read outside
 * the agent's unpack root; a pod whose subPath a container turned into a
 * link out of its emptyDir must be refused with CreateContainerConfigError.
 * A canary directory outside the agent's data dir must stay untouched.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentProcess,
  removeWasmPods,
  sample,
  spawnAgent,
  until,
} from "../../node-agent/src/testing/agent-process.ts";
import { makeTar, type TarEntry } from "../../node-agent/src/testing/tar.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { type RegistryProxy, startRegistryProxy } from "../../scripts/local/registry-proxy.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = "hostile-node-1";
let cp: ControlPlane;
let pki: LocalPki;
let proxy: RegistryProxy;
let dir: string;
let outside: string;
let agent: AgentProcess;

type ContainerStatus = {
  restartCount: number;
  state: { waiting?: { reason: string; message?: string }; terminated?: { exitCode: number } };
  lastState: { terminated?: { exitCode: number } };
};
type PodJson = {
  metadata: { uid: string };
  status?: { phase?: string; containerStatuses?: ContainerStatus[] };
};

async function getPod(name: string): Promise<PodJson | undefined> {
  const response = await cp.fetch(`/api/v1/namespaces/default/pods/${name}`);
  if (response.status === 404) return undefined;
  return (await response.json()) as PodJson;
}

/** Watch one pod until a status satisfies `match` (every update is seen, even short-lived ones). */
async function watchPod(name: string, match: (pod: PodJson) => boolean, timeoutMs: number): Promise<PodJson> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await cp.fetch(
      `/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3D${name}`,
      { signal: abort.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`watch on ${name} ended without a match`);
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) {
        const pod = (JSON.parse(line) as { object: PodJson }).object;
        if (match(pod)) {
          await reader.cancel();
          return pod;
        }
      }
    }
  } catch (error) {
    if (abort.signal.aborted) throw new Error(`pod ${name}: no matching status within ${timeoutMs} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function podYaml(name: string, image: string, extra = "", mounts = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${NODE}
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - name: main
    image: ${image}
${mounts}`;
}

/**
 * `d -> .` and `r -> d/d/…/../..`: lexically inside any root, physically the host's `/` to a naive
 * unpacker. 16 levels climb out of any unpack root here and stay under Linux's 40-link limit.
 */
function chainToSlash(): TarEntry[] {
  return [
    { name: "d", type: "symlink", linkname: "." },
    { name: "r", type: "symlink", linkname: `${"d/".repeat(16)}${"../".repeat(16).slice(0, -1)}` },
  ];
}

/** Push one blob into the built-in registry (monolithic upload); returns its descriptor. */
async function pushBlob(repo: string, bytes: Uint8Array, mediaType: string) {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const response = await cp.fetch(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    headers: { "Content-Type": "application/octet-stream" },
    body: bytes,
  });
  expect(response.status).toBe(201);
  return { mediaType, digest, size: bytes.length };
}

/** Push an image (one layer, a config with the entrypoint) into the built-in registry; returns its reference. */
async function pushImage(repo: string, layer: { mediaType: string; bytes: Uint8Array }, entrypoint?: string) {
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: "wasm",
      os: "wasip1",
      config: entrypoint ? { Entrypoint: [entrypoint] } : {},
    }),
  );
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: await pushBlob(repo, config, "application/vnd.oci.image.config.v1+json"),
    layers: [await pushBlob(repo, layer.bytes, layer.mediaType)],
  });
  const response = await cp.fetch(`/v2/${repo}/manifests/v1`, {
    method: "PUT",
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  expect(response.status).toBe(201);
  return `${proxy.host}/${repo}:v1`;
}

async function pushLayer(repo: string, entries: TarEntry[], entrypoint?: string): Promise<string> {
  const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", bytes: await makeTar(entries) };
  return pushImage(repo, layer, entrypoint);
}

function expectOutsideUntouched(): void {
  expect(readdirSync(outside).sort()).toEqual(["canary", "hello.wasm"]);
  expect(readFileSync(join(outside, "canary"), "utf8")).toBe("canary");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hostile-e2e-"));
  // The canary lives outside the agent's data dir (dir/agent), where no pod or image may reach.
  outside = mkdtempSync(join(tmpdir(), "hostile-canary-"));
  writeFileSync(join(outside, "canary"), "canary");
  writeFileSync(join(outside, "hello.wasm"), readFileSync(sample("hello")));
  pki = await ensurePki(join(dir, "pki"));
  cp = await startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } });
  proxy = await startRegistryProxy(0, cp.fetch);
  const rc = await cp.kubectl(["apply", "-f", "-"], {
    input: `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
`,
  });
  expect(rc.stderr).toBe("");
  agent = spawnAgent(
    [
      "--server",
      cp.url,
      "--ca-file",
      pki.caCert,
      "--name",
      NODE,
      "--data-dir",
      join(dir, "agent"),
      "--node-ip",
      "127.0.0.1",
      // The loopback endpoint holds no credential: the agent answers its challenge with its own token.
      "--registry-login",
      proxy.host,
    ],
    { token: cp.token },
  );
  await agent.waitFor(/tunnel connected/);
}, 120_000);

afterAll(async () => {
  await agent?.stop().catch(() => {});
  await removeWasmPods(join(dir, "agent"), NODE).catch(() => {});
  await proxy?.stop().catch(() => {});
  await cp?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
}, 120_000);

describe("a crafted image cannot reach outside the agent's unpack root", () => {
  it("runs an image whose layer writes through a symlink chain, with the writes kept inside", async () => {
    const image = await pushLayer(
      "hostile/chain",
      [
        ...chainToSlash(),
        { name: `r${outside}/canary`, content: new TextEncoder().encode("pwned") },
        { name: `r${outside}/created`, content: new TextEncoder().encode("pwned") },
        { name: "app.wasm", content: readFileSync(sample("hello")) },
      ],
      "/app.wasm",
    );
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml("chain", image, "  restartPolicy: Never\n"),
    });
    expect(apply.code).toBe(0);
    const pod = await until(
      async () => {
        const p = await getPod("chain");
        return p?.status?.phase === "Succeeded" || p?.status?.phase === "Failed" ? p : undefined;
      },
      60_000,
      "chain finished",
    );
    expect(pod.status?.phase).toBe("Succeeded");
    expectOutsideUntouched();
  });

  it("refuses an image whose entrypoint is a link to a host file, with ErrImagePull", async () => {
    const image = await pushLayer(
      "hostile/entrylink",
      [...chainToSlash(), { name: "app.wasm", type: "symlink", linkname: `r${outside}/hello.wasm` }],
      "/app.wasm",
    );
    const watched = watchPod(
      "entrylink",
      (p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === "ErrImagePull",
      60_000,
    );
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml("entrylink", image, "  restartPolicy: Never\n"),
    });
    expect(apply.code).toBe(0);
    const pod = await watched;
    expect(pod.status?.containerStatuses?.[0].state.waiting?.message).toMatch(/holds no wasm module/);
    expectOutsideUntouched();
  });

  it("refuses an image whose layer names a path above its root, with ErrImagePull", async () => {
    const image = await pushLayer("hostile/dotdot", [
      { name: `../../../../../../../../..${outside}/canary`, content: new TextEncoder().encode("pwned") },
    ]);
    const watched = watchPod(
      "dotdot",
      (p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === "ErrImagePull",
      60_000,
    );
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml("dotdot", image, "  restartPolicy: Never\n"),
    });
    expect(apply.code).toBe(0);
    const pod = await watched;
    expect(pod.status?.containerStatuses?.[0].state.waiting?.message).toMatch(/escapes the image root/);
    expectOutsideUntouched();
  });
});

describe("a subPath turned into a link out of its emptyDir", () => {
  it("is refused with CreateContainerConfigError and not mounted", async () => {
    const image = await pushImage("samples/fail", {
      mediaType: "application/wasm",
      bytes: new Uint8Array(readFileSync(sample("fail"))),
    });
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml(
        "subpath",
        image,
        "  volumes:\n  - name: scratch\n    emptyDir: {}\n",
        "    volumeMounts:\n    - name: scratch\n      mountPath: /data\n      subPath: work\n",
      ),
    });
    expect(apply.code).toBe(0);
    // The module exits 1, so the container restarts: what a container in the pod (kubelet's
    // CVE-2017-1002101) would do between two starts is done here, replacing `work` with a link out.
    const first = await until(
      async () => {
        const p = await getPod("subpath");
        const s = p?.status?.containerStatuses?.[0];
        return s && (s.state.terminated || s.lastState.terminated) ? p : undefined;
      },
      60_000,
      "subpath container ran once",
    );
    const work = join(dir, "agent/pods", first.metadata.uid, "volumes/scratch/work");
    rmSync(work, { recursive: true, force: true });
    symlinkSync(outside, work);
    const refused = await until(
      async () => {
        const s = (await getPod("subpath"))?.status?.containerStatuses?.[0];
        return s?.state.waiting?.reason === "CreateContainerConfigError" ? s : undefined;
      },
      90_000,
      "subpath refused",
    );
    expect(refused.state.waiting?.message).toMatch(
      /failed to prepare subPath for volumeMount "scratch" of container "main": .*points outside the volume/,
    );
    expectOutsideUntouched();
  });
});
