/**
 * The API from inside pods, on a real CRI node: the control plane creates the
 * `kubernetes` and `kube-dns` Services itself, the agent's service proxy sends
 * 10.96.0.1:443 to its API proxy and 10.96.0.10:53 to its DNS server, and a
 * pod that trusts only the cluster CA reads /api by name with the token it
 * was given. busybox's wget cannot check a certificate (its TLS has no
 * verification), so the client is `openssl s_client -verify_return_error
 * -verify_hostname`, packed with its libraries into a test image. Also: a
 * deleted `kubernetes` Service comes back, and a LoadBalancer Service gets
 * the node's address in its status and answers there from the host.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { hostIPv4 } from "../../node-agent/src/node.ts";
import { startContainerd } from "../../node-agent/src/runtime/cri/containerd.ts";
import { CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensureApiProxyCert, ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const run = promisify(execFile);
const NODE = `api-node-${randomBytes(2).toString("hex")}`;

/** The busybox image plus openssl and the shared libraries it loads (ldd), for a client that verifies TLS. */
async function buildTlsImage(images: string, dir: string): Promise<string> {
  const layout = join(dir, "oci");
  await run("skopeo", ["copy", "--quiet", `oci:${join(images, "oci")}:busybox`, `oci:${layout}:tls`]);
  const bundle = join(dir, "tls-bundle");
  await run("umoci", ["unpack", "--image", `${layout}:tls`, bundle]);
  const rootfs = join(bundle, "rootfs");
  const openssl = (await run("sh", ["-c", "command -v openssl"])).stdout.trim();
  const libs = (await run("ldd", [openssl])).stdout
    .split("\n")
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => Boolean(p));
  for (const file of [openssl, ...libs]) {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    copyFileSync(file, join(rootfs, file));
  }
  await run("chmod", ["755", join(rootfs, openssl)]);
  await run("umoci", ["repack", "--image", `${layout}:tls`, bundle]);
  await run("umoci", ["config", "--image", `${layout}:tls`, "--config.env", "PATH=/bin:/usr/bin"]);
  return layout;
}

describe("the API, DNS and LoadBalancers from pods on a CRI node", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let tls: string;
  let ca: string;
  let releaseSubnet: () => void = () => {};
  const bridge = `epa${randomBytes(3).toString("hex")}`;
  const nodeIP = hostIPv4();
  const agentDir = () => join(dir, "agent");

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, { input });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  /** The logs of a pod that ran to completion, and its phase. */
  async function finished(name: string): Promise<{ phase: string; logs: string }> {
    let phase = "";
    await waitFor(
      async () => {
        const r = await cp.fetch(`/api/v1/namespaces/default/pods/${name}`);
        phase = ((await r.json()) as { status?: { phase?: string } }).status?.phase ?? "";
        return phase === "Succeeded" || phase === "Failed";
      },
      120_000,
      `${name} done`,
    );
    return { phase, logs: await kubectl(["logs", name]) };
  }

  async function service(ns: string, name: string) {
    const r = await cp.fetch(`/api/v1/namespaces/${ns}/services/${name}`);
    if (r.status !== 200) return undefined;
    return (await r.json()) as {
      metadata: { uid: string };
      spec: { clusterIP: string; ports: { name: string; port: number; protocol: string }[] };
      status?: { loadBalancer?: { ingress?: { ip: string }[] } };
    };
  }

  /** GET http://ip:port/ from the host over a new connection (NAT is per connection). */
  function hostGet(ip: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpGet({ host: ip, port, path: "/", agent: false, timeout: 3000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(body.trim()));
      });
      req.on("timeout", () => req.destroy(new Error(`${ip}:${port} timed out`)));
      req.on("error", reject);
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-in-cluster-api-"));
    const subnet = claimSubnet();
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    const leaf = await ensureApiProxyCert(join(dir, "pki"), pki);
    ca = readFileSync(pki.caCert, "utf8");
    const images = await buildTestImages();
    [cp, registry] = await Promise.all([
      startControlPlane({
        tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
        // ServiceAccount tokens: pods get a projected token and kube-root-ca.crt (this CA).
        env: {
          SERVICE_ACCOUNT_SIGNING_KEY: generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
            type: "pkcs8",
            format: "pem",
          }) as string,
          CLUSTER_CA_CERT: readFileSync(pki.caCert, "utf8"),
        },
      }),
      startLocalRegistry(join(dir, "registry")),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    tls = await registry.push(await buildTlsImage(images, dir), "tls", "edgeplane/tls:1");
    await kubectl(
      ["apply", "-f", "-"],
      "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: runc}\nhandler: runc\n",
    );
    agent = spawnAgent(
      [
        ...["--server", cp.url, "--ca-file", pki.caCert, "--name", NODE, "--data-dir", agentDir()],
        ...["--node-ip", nodeIP, "--runtimes", "cri", "--containerd", "managed"],
        ...[
          "--pod-cidr",
          subnet.cidr,
          "--cni-bridge",
          bridge,
          "--service-proxy",
          "--cluster-cidr",
          subnet.cidr,
        ],
        ...["--api-proxy-cert", leaf.cert, "--api-proxy-key", leaf.key],
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    await agent.waitFor(/API proxy on .* behind default\/kubernetes/, 10_000);
  }, 300_000);

  afterAll(async () => {
    if (process.env.SVC_DEBUG) {
      console.log(agent?.output().slice(-6000));
      console.log((await run("nft", ["list", "table", "ip", `edgeplane-${bridge}`]).catch((e) => e)).stdout);
    }
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
      await agent.stop();
    }
    if (dir && existsSync(join(agentDir(), "cri", "containerd", "config.toml"))) {
      const containerd = await startContainerd({ dataDir: join(agentDir(), "cri", "containerd") }).catch(
        () => undefined,
      );
      if (containerd) {
        const rt = new CriRuntime({ endpoint: containerd.socket, cgroupRoot: "/edgeplane" });
        await rt.removeOrphans(new Set()).catch(() => []);
        await rt.close();
        await containerd.stop();
      }
    }
    await run("nft", ["delete", "table", "ip", `edgeplane-${bridge}`]).catch(() => {});
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it("has the kubernetes and kube-dns Services from the start, and brings kubernetes back when deleted", async () => {
    await waitFor(async () => (await service("default", "kubernetes")) !== undefined, 30_000, "kubernetes");
    await waitFor(async () => (await service("kube-system", "kube-dns")) !== undefined, 30_000, "kube-dns");
    const api = await service("default", "kubernetes");
    expect(api?.spec).toMatchObject({ clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443 }] });
    expect((await service("kube-system", "kube-dns"))?.spec).toMatchObject({
      clusterIP: "10.96.0.10",
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
      ],
    });
    await kubectl(["delete", "service", "kubernetes"]);
    await waitFor(
      async () => {
        const again = await service("default", "kubernetes");
        return again !== undefined && again.metadata.uid !== api?.metadata.uid;
      },
      30_000,
      "kubernetes re-created",
    );
    expect((await service("default", "kubernetes"))?.spec.clusterIP).toBe("10.96.0.1");
  }, 90_000);

  it("lets a pod read /api at https://kubernetes.default.svc with its own token, verified against the cluster CA", async () => {
    // The token and CA are handed to the pod in a Secret made here (ServiceAccount tokens are another part's work).
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "api-client" },
        stringData: { token: cp.token, "ca.crt": ca },
      }),
    );
    const ask = (name: string, connect: string, extra = "") =>
      [
        `echo "== ${name}"`,
        `printf 'GET /api HTTP/1.1\\r\\nHost: kubernetes.default.svc\\r\\nAuthorization: Bearer %s\\r\\nConnection: close\\r\\n\\r\\n' "$(cat /api-client/token)" | openssl s_client -quiet -verify_return_error -CAfile /api-client/ca.crt ${extra} -connect ${connect} 2>&1`,
        `echo "exit $?"`,
      ].join("; ");
    const script = [
      'echo "env $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT"',
      'for n in kubernetes.default.svc.cluster.local kube-dns.kube-system.svc.cluster.local kubernetes; do echo "== $n"; nslookup $n 2>&1; done',
      // busybox nslookup applies the search list to dotless names only; wget resolves through the C library,
      // which applies it as ndots:5 says, and names the address it connects to.
      'for n in kubernetes.default:443 kube-dns.kube-system:53; do echo "== wget $n"; timeout 3 wget --spider http://$n/ 2>&1 | head -1; done 2>&1',
      ask(
        "by name",
        "kubernetes.default.svc:443",
        "-servername kubernetes.default.svc -verify_hostname kubernetes.default.svc",
      ),
      ask("by ip", "$KUBERNETES_SERVICE_HOST:443", "-verify_ip 10.96.0.1"),
      // An address of the service range no Service holds is refused at once (no hang on the default route).
      'echo "== unallocated"; timeout 5 wget -qO- http://10.96.123.45/ 2>&1; echo "exit $?"',
      // The same endpoint under a name its certificate does not carry must fail verification.
      ask("wrong name", "kubernetes.default.svc:443", "-servername example.com -verify_hostname example.com"),
    ].join("; ");
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "api-client" },
        spec: {
          runtimeClassName: "runc",
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "main",
              image: tls,
              command: ["sh", "-c", script],
              volumeMounts: [{ name: "creds", mountPath: "/api-client", readOnly: true }],
            },
          ],
          volumes: [{ name: "creds", secret: { secretName: "api-client" } }],
        },
      }),
    );
    const { logs } = await finished("api-client");
    if (process.env.SVC_DEBUG) console.log(logs);
    // The token never shows up in what the pod printed (the request went to openssl's stdin only).
    expect(logs).not.toContain(cp.token);
    const section = (n: string) => logs.split(`== ${n}\n`)[1]?.split("== ")[0] ?? "";
    expect(logs).toContain("env 10.96.0.1:443");
    expect(section("kubernetes.default.svc.cluster.local")).toMatch(/Address:\s+10\.96\.0\.1\b/);
    expect(section("kube-dns.kube-system.svc.cluster.local")).toMatch(/Address:\s+10\.96\.0\.10\b/);
    expect(section("kubernetes")).toMatch(/Address:\s+10\.96\.0\.1\b/);
    expect(section("wget kubernetes.default:443")).toContain(
      "Connecting to kubernetes.default:443 (10.96.0.1:443)",
    );
    expect(section("wget kube-dns.kube-system:53")).toContain(
      "Connecting to kube-dns.kube-system:53 (10.96.0.10:53)",
    );
    for (const way of ["by name", "by ip"]) {
      expect(section(way), way).toMatch(/HTTP\/1\.1 200/);
      expect(section(way), way).toMatch(/"kind":"APIVersions"/);
      expect(section(way), way).toContain("exit 0");
    }
    expect(section("unallocated")).toContain("Connection refused");
    expect(section("wrong name")).not.toMatch(/APIVersions/);
    expect(section("wrong name")).toMatch(/verify error|hostname mismatch/i);
  }, 240_000);

  it("lets a pod list pods through https://kubernetes.default.svc with its mounted ServiceAccount token, as RBAC allows", async () => {
    await (await cp.mf.getWorker()).scheduled({ cron: "* * * * *" });
    await waitFor(
      async () => (await cp.fetch("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")).ok,
      60_000,
      "kube-root-ca.crt",
    );
    await kubectl([
      "create",
      "rolebinding",
      "default-view",
      "--clusterrole=view",
      "--serviceaccount=default:default",
    ]);
    const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    const ask = (name: string, method: string, path: string) =>
      [
        `echo "== ${name}"`,
        `printf '${method} ${path} HTTP/1.1\\r\\nHost: kubernetes.default.svc\\r\\nAuthorization: Bearer %s\\r\\nConnection: close\\r\\n\\r\\n' "$(cat ${sa}/token)" | openssl s_client -quiet -verify_return_error -CAfile ${sa}/ca.crt -servername kubernetes.default.svc -verify_hostname kubernetes.default.svc -connect kubernetes.default.svc:443 2>&1`,
      ].join("; ");
    const script = [
      `echo "== namespace $(cat ${sa}/namespace)"`,
      ask("list", "GET", "/api/v1/namespaces/default/pods"),
      ask("delete", "DELETE", "/api/v1/namespaces/default/pods/sa-client"),
    ].join("; ");
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "sa-client" },
        spec: {
          runtimeClassName: "runc",
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: tls, command: ["sh", "-c", script] }],
        },
      }),
    );
    const { logs } = await finished("sa-client");
    // Sections start on their own line (the listed pods' JSON holds "== " too).
    const section = (n: string) => logs.split(`== ${n}\n`)[1]?.split("\n== ")[0] ?? "";
    expect(logs).toContain("== namespace default\n");
    expect(section("list"), logs).toMatch(/HTTP\/1\.1 200/);
    expect(section("list")).toMatch(/"kind":"PodList"/);
    expect(section("list")).toContain('"name":"sa-client"');
    // view lists but does not delete.
    expect(section("delete"), logs).toMatch(/HTTP\/1\.1 403/);
  }, 240_000);

  it("gives a LoadBalancer Service the node's address, and it answers there from the host", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "lb-web", labels: { app: "lb-web" } },
            spec: {
              runtimeClassName: "runc",
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "main",
                  image: busybox,
                  command: [
                    "sh",
                    "-c",
                    "mkdir -p /www && echo lb-web > /www/index.html && exec httpd -f -p 8080 -h /www",
                  ],
                },
              ],
            },
          },
          {
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: "lb-web" },
            spec: {
              type: "LoadBalancer",
              selector: { app: "lb-web" },
              ports: [{ port: 18080, targetPort: 8080 }],
            },
          },
        ],
      }),
    );
    await waitFor(
      async () => (await service("default", "lb-web"))?.status?.loadBalancer?.ingress?.[0]?.ip === nodeIP,
      60_000,
      "the node's address in the LoadBalancer status",
    );
    expect((await kubectl(["get", "service", "lb-web"])).split("\n")[1]).toContain(nodeIP);
    await waitFor(
      async () => (await hostGet(nodeIP, 18080).catch(() => "")) === "lb-web",
      60_000,
      "lb-web answering on the node's address",
    );
  }, 180_000);

  it("carries real kubectl through the node's API proxy: exec (an Upgrade) and logs", async () => {
    // The proxy as a client in a pod sees it, by the Service's name (from the node itself, so no Service hop).
    const at = /API proxy on (\S+):(\d+) /.exec(agent.output());
    expect(at).not.toBeNull();
    const kubeconfig = join(dir, "proxy-kubeconfig");
    writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: in-cluster",
        "  cluster:",
        `    server: https://${at?.[1]}:${at?.[2]}`,
        `    certificate-authority-data: ${Buffer.from(ca).toString("base64")}`,
        "    tls-server-name: kubernetes.default.svc",
        "users:",
        "- name: admin",
        "  user:",
        `    token: ${cp.token}`,
        "contexts:",
        "- name: in-cluster",
        "  context: {cluster: in-cluster, user: admin}",
        "current-context: in-cluster",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const kc = async (args: string[]) =>
      (
        await run("kubectl", ["--kubeconfig", kubeconfig, "--cache-dir", join(dir, "proxy-cache"), ...args], {
          timeout: 60_000,
        })
      ).stdout;
    expect(await kc(["exec", "lb-web", "--", "cat", "/www/index.html"])).toBe("lb-web\n");
    expect(await kc(["logs", "api-client"])).toContain("APIVersions");
  }, 120_000);
});
