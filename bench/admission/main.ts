/**
 * Admission benchmark (prints figures; not a test). `npm run bench -- admission`
 *
 * The real Worker under workerd (test/e2e/harness.ts) and a validating
 * webhook served by node:https on loopback with a certificate of a CA the
 * Worker trusts (as `npm start` trusts the local cluster's CA). In the same
 * run, alternately, the same Pod create (POST over HTTPS, admin token) into:
 *   - "plain": a namespace no webhook selects (the dispatcher still reads the
 *     webhook configurations: the cost every write now pays), and
 *   - "admitted": a namespace whose label selects one webhook, and which holds
 *     a ResourceQuota and a LimitRange whenever the server serves those kinds
 *     (the run says whether it did).
 * Added latency = admitted − plain, at p50 and p99.
 *
 * BENCH_SCALE=small runs fewer creates (CI smoke).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePki } from "../../scripts/local/pki.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";
import { percentile } from "../lib/stats.ts";

const small = process.env.BENCH_SCALE === "small";
const CREATES = small ? 30 : 200;
const WARMUP = small ? 5 : 20;

const dir = await mkdtemp(join(tmpdir(), "edgeplane-bench-admission-"));
const pki = await ensurePki(join(dir, "pki"));
const ca = await readFile(pki.caCert, "utf8");
let reviews = 0;
const hook = createServer(
  { cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      reviews++;
      const { request } = JSON.parse(Buffer.concat(chunks).toString());
      const response = { uid: request.uid, allowed: true };
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response }));
    });
  },
);
await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
const hookUrl = `https://127.0.0.1:${(hook.address() as AddressInfo).port}/validate`;
const cp = await startControlPlane({ trustedCertificates: [ca] });

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  return cp.fetch(path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function must(method: string, path: string, body?: unknown): Promise<void> {
  const res = await send(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Whether the server serves a core/v1 resource (ResourceQuota and LimitRange arrive with another branch). */
async function served(resource: string): Promise<boolean> {
  const res = await send("GET", `/api/v1/${resource}`);
  await res.arrayBuffer();
  return res.status === 200;
}

/** Wait (bounded) until the namespace's default ServiceAccount exists: pod admission needs it. */
async function serviceAccountReady(ns: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await send("GET", `/api/v1/namespaces/${ns}/serviceaccounts/default`);
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`no default ServiceAccount in ${ns}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const pod = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox:1.36", command: ["sleep", "3600"] }] },
});

try {
  await must("POST", "/api/v1/namespaces", { metadata: { name: "plain" } });
  await must("POST", "/api/v1/namespaces", {
    metadata: { name: "admitted", labels: { "bench-webhooks": "on" } },
  });
  const extras: string[] = [];
  if (await served("resourcequotas")) {
    await must("POST", "/api/v1/namespaces/admitted/resourcequotas", {
      metadata: { name: "bench" },
      spec: { hard: { pods: "100000", "requests.cpu": "1000", "requests.memory": "1000Gi" } },
    });
    extras.push("ResourceQuota");
  }
  if (await served("limitranges")) {
    await must("POST", "/api/v1/namespaces/admitted/limitranges", {
      metadata: { name: "bench" },
      spec: { limits: [{ type: "Container", defaultRequest: { cpu: "10m", memory: "16Mi" } }] },
    });
    extras.push("LimitRange");
  }
  await must("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", {
    metadata: { name: "bench" },
    webhooks: [
      {
        name: "bench.admission.edgeplane.dev",
        clientConfig: { url: hookUrl, caBundle: Buffer.from(ca).toString("base64") },
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        namespaceSelector: { matchLabels: { "bench-webhooks": "on" } },
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
      },
    ],
  });
  await Promise.all([serviceAccountReady("plain"), serviceAccountReady("admitted")]);

  const samples: Record<string, number[]> = { plain: [], admitted: [] };
  for (let i = 0; i < WARMUP + CREATES; i++)
    for (const ns of ["plain", "admitted"]) {
      const t = performance.now();
      await must("POST", `/api/v1/namespaces/${ns}/pods`, pod(`p-${i}`));
      if (i >= WARMUP) samples[ns].push(performance.now() - t);
    }
  if (reviews !== WARMUP + CREATES)
    throw new Error(`the webhook saw ${reviews} reviews, not ${WARMUP + CREATES}`);

  const fmt = (ms: number) => `${ms.toFixed(2)} ms`.padStart(10);
  const stats = (ns: string) => {
    const sorted = samples[ns].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  };
  const plain = stats("plain");
  const admitted = stats("admitted");
  console.log(`admission bench: ${CREATES} pod creates per path, alternating, after ${WARMUP} warm-up each`);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `admitted path: one validating webhook (HTTPS, loopback)${extras.length ? ` + ${extras.join(" + ")}` : ""}`,
  );
  if (extras.length < 2)
    console.log("  (ResourceQuota/LimitRange not served by this build: measured without them)");
  console.log(`${"plain create".padEnd(28)} p50 ${fmt(plain.p50)}   p99 ${fmt(plain.p99)}`);
  console.log(`${"admitted create".padEnd(28)} p50 ${fmt(admitted.p50)}   p99 ${fmt(admitted.p99)}`);
  console.log(
    `${"added by admission".padEnd(28)} p50 ${fmt(admitted.p50 - plain.p50)}   p99 ${fmt(admitted.p99 - plain.p99)}`,
  );
} finally {
  await cp.stop();
  await new Promise((resolve) => hook.close(resolve));
  await rm(dir, { recursive: true, force: true });
}
