/**
 * The node agent: wires the pieces together. It registers the Node, keeps its
 * Lease and status fresh, watches its own pods and gives each a PodWorker
 * (pod/worker.ts), serves logs through the tunnel, and on start adopts what
 * the runtimes already run (pods outlive agent restarts: stop() leaves them
 * running). Static pods come from the manifest directory (static/), and the
 * API's mirror pods of them are left to that manager, never run twice.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createKubeClient, type KubeClient, type KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { ApiError } from "../../workers/client/status.ts";
import { EDGEPLANE_VERSION } from "../../workers/client/version.ts";
import { ApiProxy } from "./apiproxy/server.ts";
import { type Clock, realClock } from "./clock.ts";
import { ClusterRecords, type DnsService, type DnsSlice } from "./dns/records.ts";
import { DnsServer } from "./dns/server.ts";
import { EventRecorder } from "./events/recorder.ts";
import { createNodeFetch, createTransport, type Transport } from "./http.ts";
import { localPathDir, watchCleanup } from "./local-path.ts";
import { parseLogQuery, streamLogs } from "./logs.ts";
import { collectMetrics } from "./metrics/index.ts";
import { AgentMetrics, type AgentSnapshot } from "./metrics-prom/metrics.ts";
import { parseBindAddress, serveMetrics } from "./metrics-prom/server.ts";
import { ensureBridgeNetfilter, NetpolEnforcer } from "./netpol/enforcer.ts";
import { DEFAULT_BRIDGE } from "./network/cni.ts";
import { ipRouteTable, NodeRoutes, watchNodes } from "./network/routes.ts";
import { heartbeat, hostIPv4, type NodeOptions, registerNode, renewLease } from "./node.ts";
import { Backoff } from "./pod/backoff.ts";
import { type EnvService, parseResolvConf, serviceEnv } from "./pod/container-config.ts";
import type { ClusterDns, PodDeps } from "./pod/context.ts";
import type { Pod } from "./pod/k8s.ts";
import { PodWorker } from "./pod/worker.ts";
import { watchPods } from "./podwatch.ts";
import { apiSources, preparePod } from "./prepare.ts";
import { runProbe } from "./probe-run.ts";
import type { LocalEndpoints } from "./proxy/model.ts";
import { ServiceProxy } from "./proxy/proxy.ts";
import { imageRegistry, podCgroupParent } from "./runtime/cri/convert.ts";
import type { PullOptions, Runtime } from "./runtime/types.ts";
import { WasmRuntime } from "./runtime/wasm/runtime.ts";
import { ServiceAccountTokens } from "./service-account-tokens.ts";
import { StaticPods } from "./static/manager.ts";
import { isMirrorPod } from "./static/manifest.ts";
import { httpStreamHandler } from "./streams/http.ts";
import { remoteCommandHandlers } from "./streams/index.ts";
import { portForwardHandler } from "./streams/portforward.ts";
import { TunnelClient } from "./tunnel.ts";

/** Agent version reported as nodeInfo.kubeletVersion: the control plane's (workers/client/version.ts). */
export const AGENT_VERSION = EDGEPLANE_VERSION;

/** Everything the CLI passes in. */
export interface AgentOptions {
  server: string;
  token: string;
  caFile?: string;
  name: string;
  dataDir: string;
  labels?: Record<string, string>;
  maxPods?: number;
  /** RuntimeClass handlers to offer: "wasm", "cri". The first is the default for pods without a RuntimeClass. */
  runtimes?: string[];
  /** For --runtimes cri: "managed" (private containerd) or a CRI socket path. */
  containerd?: string;
  /** For --runtimes cri: pod CIDR until the Node has spec.podCIDR, bridge name, --allow-privileged. */
  cri?: { podCidr?: string; bridge?: string; allowPrivileged?: boolean; cgroupRoot?: string };
  hostIP?: string;
  /**
   * Registries (host[:port]) that get this node's own token when a pod names no
   * pull secret for them: the control plane's built-in registry, and locally the
   * loopback pull endpoint of `npm start`, which forwards the credential to it.
   */
  registryLogins?: string[];
  /** Registry mirrors ({ "docker.io": ["127.0.0.1:6500"] }), tried before the registry itself; a mirror in registryLogins gets the node's token. */
  registryMirrors?: Record<string, string[]>;
  /** At most this many prepared WASM pod networks kept warm (--wasm-netns-pool; default 4, 0 = none). */
  wasmNetnsPool?: number;
  /** Static pod manifests (--pod-manifest-path); default <dataDir>/manifests. */
  podManifestPath?: string;
  clock?: Clock;
  log?: (message: string) => void;
  /** Play kube-proxy: program this host's nftables from Services and EndpointSlices (docs/services.md). */
  serviceProxy?: { clusterCidr?: string; serviceCidr?: string; table?: string; minSyncPeriodMs?: number };
  /**
   * With serviceProxy: serve the API to pods behind the `kubernetes` Service through a TLS proxy on the node
   * (apiproxy/server.ts) presenting this certificate (PEM files, signed by the cluster CA for 10.96.0.1 and
   * kubernetes.default.svc...).
   */
  apiProxy?: { certFile: string; keyFile: string };
  /** With serviceProxy: enforce NetworkPolicies in this node's nftables (netpol/; default on; false = off). */
  networkPolicy?: boolean;
  /** Cluster DNS for ClusterFirst pods (kubelet's --cluster-dns, --cluster-domain). */
  clusterDns?: { servers: string[]; domain?: string };
  /** Resource metrics push period (metrics/push.ts; default 15 s, 0 = off). */
  metricsIntervalMs?: number;
  /** Extra runtimes (tests). */
  extraRuntimes?: Runtime[];
  /** Serve Prometheus /metrics on this HOST:PORT (the CLI's --metrics-bind-address); absent or "": not served. */
  metricsBindAddress?: string;
}

/** A running agent. */
export class NodeAgent {
  private readonly workers = new Map<string, PodWorker>();
  private readonly stopper = new AbortController();
  private readonly runtimeClasses = new Map<string, string>();
  private tunnel?: TunnelClient;
  private statics?: StaticPods;
  private closers: (() => Promise<void>)[] = [];
  private background: Promise<unknown>[] = [];
  readonly client: KubeClient;
  readonly node: NodeOptions;
  readonly runtimes = new Map<string, Runtime>();
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private readonly transport: Transport;
  private synced = false;
  private readonly clusterDns?: ClusterDns;
  /** Projected ServiceAccount tokens of this node's pods, refreshed at 80 % of their lifetime. */
  private readonly tokens: ServiceAccountTokens;
  /** Kubelet's events on pods and this Node. */
  readonly events: EventRecorder;
  /** Prometheus metrics (kubelet's names), served by --metrics-bind-address. */
  readonly metrics = new AgentMetrics(() => this.snapshot());
  /** Per runtime handler: the cgroup path of a container (for resource metrics). */
  private readonly cgroupOf = new Map<string, (containerId: string, podUid: string) => string>();

  private constructor(private readonly options: AgentOptions) {
    this.clock = options.clock ?? realClock;
    this.log = options.log ?? ((m) => console.log(`${new Date().toISOString()} ${m}`));
    this.transport = createTransport({ server: options.server, caFile: options.caFile });
    this.client = createKubeClient({
      fetch: this.transport.fetch,
      baseUrl: options.server,
      token: options.token,
      userAgent: `edgeplane-node-agent/${AGENT_VERSION} (${options.name})`,
    });
    this.tokens = new ServiceAccountTokens(this.client, this.clock);
    this.events = new EventRecorder({
      client: this.client,
      clock: this.clock,
      node: { name: options.name },
      log: this.log,
    });
    // With the service proxy the node serves cluster DNS at the kube-dns Service IP (kubelet's default).
    const clusterDns = options.clusterDns ?? (options.serviceProxy ? { servers: ["10.96.0.10"] } : undefined);
    if (clusterDns) {
      let host = "";
      try {
        host = readFileSync("/etc/resolv.conf", "utf8");
      } catch {
        // no host resolv.conf: Default pods get an empty one, as the kubelet gives them
      }
      this.clusterDns = {
        servers: clusterDns.servers,
        domain: clusterDns.domain ?? "cluster.local",
        host: parseResolvConf(host),
      };
    }
    this.node = {
      name: options.name,
      labels: options.labels ?? {},
      maxPods: options.maxPods ?? 110,
      runtimes: [],
      hostIP: options.hostIP ?? hostIPv4(),
      version: AGENT_VERSION,
      localPathDir: localPathDir(options.dataDir),
      podCIDR: options.cri?.podCidr,
    };
  }

  /** Start an agent: runtimes up, Node registered, then the watch, heartbeats and tunnel run in the background. */
  static async start(options: AgentOptions): Promise<NodeAgent> {
    const agent = new NodeAgent(options);
    await agent.init();
    return agent;
  }

  private async init(): Promise<void> {
    const { options, node } = this;
    const podCidrSetters: ((cidr: string) => Promise<void> | void)[] = [];
    let wasmRuntime: WasmRuntime | undefined;
    for (const name of options.runtimes ?? ["wasm"]) {
      if (name === "wasm") {
        // WASM pods join the same bridge and host-local pool as container pods (--pod-cidr, --cni-bridge).
        const wasm = new WasmRuntime({
          dataDir: options.dataDir,
          nodeName: node.name,
          hostIP: node.hostIP,
          registryMirrors: options.registryMirrors,
          // Image pulls on node:https too: the global fetch would load a second HTTP stack (http.ts).
          fetch: createNodeFetch(),
          network: {
            podCidr: options.cri?.podCidr,
            bridge: options.cri?.bridge,
            ipamDataDir: join(options.dataDir, "cri", "cni-ipam"),
          },
          netnsPool: options.wasmNetnsPool === 0 ? false : { max: options.wasmNetnsPool },
          log: this.log,
        });
        wasmRuntime = wasm;
        podCidrSetters.push((cidr) => wasm.setPodCidr(cidr));
        if (wasm.memoryEnforcement !== "cgroup")
          this.log("wasm: cgroups unavailable; memory limits are enforced by polling RSS (coarser)");
        this.runtimes.set("wasm", wasm);
        this.cgroupOf.set("wasm", (id) => `edgeplane/${node.name}/${id}`);
      } else if (name === "cri") {
        const { setupCri } = await import("./runtime/cri/setup.ts");
        const cri = await setupCri({
          containerd: options.containerd ?? "managed",
          dataDir: join(options.dataDir, "cri"),
          mirrors: options.registryMirrors,
          ...options.cri,
        });
        // The built-in registry lives at the control plane's origin (its CA, when private).
        const server = new URL(options.server);
        await cri.addRegistry({ host: server.host, server: server.origin, ca: options.caFile });
        podCidrSetters.push((cidr) => cri.setPodCidr(cidr));
        this.runtimes.set(cri.runtime.handler, cri.runtime);
        const cgroupRoot = options.cri?.cgroupRoot ?? "/edgeplane";
        this.cgroupOf.set(cri.runtime.handler, (id, uid) => `${podCgroupParent({ uid }, cgroupRoot)}/${id}`);
        this.closers.push(() => cri.close());
      } else throw new Error(`unknown runtime ${name} (supported: wasm, cri)`);
    }
    for (const r of options.extraRuntimes ?? []) this.runtimes.set(r.handler, r);
    for (const [handler, r] of this.runtimes) this.runtimes.set(handler, this.metrics.instrument(r));
    if (options.metricsBindAddress) await this.serveMetrics(options.metricsBindAddress);
    node.runtimes = [...this.runtimes.keys()];

    await registerNode(this.client, node, this.clock);
    this.log(`node ${node.name} registered (runtimes: ${node.runtimes.join(", ")})`);
    const self = await this.client.get(R.nodes, undefined, node.name);
    // Container pods take their IPs from the Node's spec.podCIDR once the control plane allocates one.
    const podCIDR = (self.spec as { podCIDR?: string } | undefined)?.podCIDR;
    if (podCIDR) for (const set of podCidrSetters) await set(podCIDR);
    // Leftover warm-pool networks of an earlier agent go now; new ones come from the node's pod CIDR.
    // Without it pods make their own networks, as before: not a reason to stop the agent.
    await wasmRuntime
      ?.startPool()
      .catch((error) => this.log(`wasm: netns pool not started: ${(error as Error).message}`));
    // Node IPAM usually answers just after registration: the Node watch brings the CIDR (new pods use it)
    // and keeps routes to the other nodes' pod CIDRs (host-gw).
    const routes = new NodeRoutes(
      ipRouteTable(),
      { name: node.name, ip: node.hostIP },
      this.log,
      async (cidr) => {
        if (cidr === podCIDR) return;
        this.log(`node ${node.name}: pod CIDR ${cidr}`);
        for (const set of podCidrSetters) await set(cidr);
      },
    );
    this.background.push(watchNodes(this.client, routes, this.clock, this.stopper.signal, this.log));
    await renewLease(this.client, node, this.clock, self.metadata?.uid);

    this.tunnel = new TunnelClient({
      server: options.server,
      node: node.name,
      token: options.token,
      ca: this.transport.ca,
      clock: this.clock,
      log: this.log,
      logs: (request, send, signal) => {
        const worker = this.workers.get(request.uid) ?? this.statics?.workerForMirror(request.uid);
        const record =
          worker &&
          [...worker.context.mains, ...worker.context.inits].find((c) => c.spec.name === request.container);
        if (!worker || !record)
          throw new ApiError(
            "NotFound",
            `container "${request.container}" in pod "${request.name}" not found on node ${node.name}`,
          );
        return streamLogs({
          // A static pod is asked for by its mirror's uid; its files are under its own.
          podDir: this.podDir(worker.context.pod.metadata.uid ?? request.uid),
          pod: request.name,
          container: request.container,
          query: parseLogQuery(request.query),
          write: send,
          // While the worker is still adopting (just after an agent restart) the record does not
          // yet say the container runs; ending the follow then cut `logs -f` after its tail.
          running: async () => "running" in record.state || worker.state === "adopting",
          clock: this.clock,
          signal,
        });
      },
      streams: {
        ...remoteCommandHandlers({
          lookup: (uid) => this.workers.get(uid)?.context,
          podDir: (uid) => this.podDir(uid),
          node: node.name,
          clock: this.clock,
        }),
        // Only a pod this agent runs, by uid (a recreated pod of the same name is another pod).
        portforward: portForwardHandler({ podIP: (open) => this.workers.get(open.uid)?.context.podIP }),
        // Ingress requests: the same rule, only a pod this agent runs (streams/http.ts).
        http: httpStreamHandler({ podIP: (open) => this.workers.get(open.uid)?.context.podIP }),
      },
    });
    this.tunnel.start();
    this.background.push(
      heartbeat(this.client, node, this.clock, this.stopper.signal, this.log, self.metadata?.uid),
    );
    if (options.metricsIntervalMs !== 0)
      this.background.push(
        collectMetrics({
          server: options.server,
          node: node.name,
          token: options.token,
          fetch: this.transport.fetch,
          intervalMs: options.metricsIntervalMs ?? 15_000,
          runtimes: this.runtimes,
          cgroupOf: this.cgroupOf,
          pod: (uid) => this.workers.get(uid)?.context.pod,
          clock: this.clock,
          signal: this.stopper.signal,
          log: this.log,
        }),
      );
    this.background.push(this.refreshVolumes());
    // Static pods start before the first pod list, so the orphan sweep in resync sees their sandboxes as live.
    this.statics = new StaticPods({
      dir: resolve(options.podManifestPath ?? join(options.dataDir, "manifests")),
      node: { name: node.name, uid: self.metadata?.uid ?? "" },
      client: this.client,
      clock: this.clock,
      deps: this.deps(),
      log: this.log,
    });
    await this.statics.start();
    this.background.push(this.statics.run());
    if (options.serviceProxy) await this.startServices(options.serviceProxy);
    this.background.push(
      watchCleanup(
        this.client,
        node.name,
        localPathDir(this.options.dataDir),
        this.clock,
        this.stopper.signal,
        this.log,
      ),
    );
    this.background.push(
      watchPods(
        this.client,
        node.name,
        {
          upsert: (pod) => (isMirrorPod(pod) ? this.statics?.seen(pod) : this.upsert(pod)),
          remove: (pod) =>
            isMirrorPod(pod) ? this.statics?.gone(pod) : this.workers.get(pod.metadata.uid ?? "")?.gone(),
          synced: (pods) => void this.resync(pods),
        },
        this.clock,
        this.stopper.signal,
        this.log,
      ),
    );
  }

  /**
   * kube-proxy and cluster DNS on this node: the DNS server listens on the node's address (a free port) and the
   * proxy points the kube-dns Service (kube-system) at it, so pods reach it at its ClusterIP, 10.96.0.10.
   */
  private async startServices(config: NonNullable<AgentOptions["serviceProxy"]>): Promise<void> {
    let proxy: ServiceProxy | undefined;
    const records = new ClusterRecords(
      () => (proxy?.services.items.values() ?? []) as Iterable<DnsService>,
      () => (proxy?.slices.items.values() ?? []) as Iterable<DnsSlice>,
      this.clusterDns?.domain,
    );
    const dns = new DnsServer({
      records,
      host: this.node.hostIP,
      upstreams: this.clusterDns?.host.servers ?? [],
      log: this.log,
    });
    await dns.start();
    this.closers.push(() => dns.close());
    const at = { ip: this.node.hostIP, port: dns.port };
    const local: LocalEndpoints = { "kube-system/kube-dns": { "udp/53": at, "tcp/53": at } };
    if (this.options.apiProxy) {
      const api = new ApiProxy({
        server: this.options.server,
        serverCa: this.transport.ca,
        cert: readFileSync(this.options.apiProxy.certFile, "utf8"),
        key: readFileSync(this.options.apiProxy.keyFile, "utf8"),
        host: this.node.hostIP,
        log: this.log,
      });
      await api.start();
      this.closers.push(() => api.close());
      // kube-proxy sends the kubernetes Service to the API server's endpoints; here each node's own proxy is one.
      local["default/kubernetes"] = { "tcp/443": { ip: this.node.hostIP, port: api.port } };
      this.log(`API proxy on ${this.node.hostIP}:${api.port} behind default/kubernetes`);
    }
    proxy = new ServiceProxy({
      ...config,
      client: this.client,
      nodeName: this.node.name,
      clock: this.clock,
      log: this.log,
      bridge: this.options.cri?.bridge ?? DEFAULT_BRIDGE,
      local,
    });
    this.background.push(proxy.run(this.stopper.signal));
    this.log(`service proxy on; cluster DNS on ${this.node.hostIP}:${dns.port} behind kube-system/kube-dns`);
    if (this.options.networkPolicy !== false) {
      ensureBridgeNetfilter(this.log);
      const netpol = new NetpolEnforcer({
        client: this.client,
        nodeName: this.node.name,
        clock: this.clock,
        log: this.log,
        bridge: this.options.cri?.bridge ?? DEFAULT_BRIDGE,
      });
      this.background.push(netpol.run(this.stopper.signal));
      this.log(`network policy on (nft table ${netpol.table})`);
    }
  }

  /** Resolves once the tunnel is connected (tests). */
  tunnelConnected(): Promise<void> {
    return this.tunnel?.whenConnected() ?? Promise.resolve();
  }

  /** The workers by pod uid (read-only use). */
  get pods(): ReadonlyMap<string, PodWorker> {
    return this.workers;
  }

  /** Stop the agent. Pods keep running (they are adopted on the next start). */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.statics?.stop();
    this.tunnel?.stop();
    // Tear the connections down first: an aborted signal does not always end a watch body that is
    // already streaming, and the loops must not keep the agent alive.
    await this.transport.close().catch(() => {});
    await Promise.race([Promise.allSettled(this.background), this.clock.sleep(5_000)]);
    for (const close of this.closers) await close().catch(() => {});
    for (const r of this.runtimes.values()) await r.close();
  }

  private podDir(uid: string): string {
    return join(this.options.dataDir, "pods", uid);
  }

  private upsert(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    if (pod.spec.nodeName !== this.node.name) return;
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    // kubelet's admission counts active pods only: a pod whose termination was requested (a preemption
    // victim still stopping, its API object perhaps already gone) must not keep out the pod taking its place.
    let active = 0;
    for (const w of this.workers.values()) if (!w.context.pod.metadata.deletionTimestamp) active++;
    if (active >= this.node.maxPods) {
      void this.reject(
        pod,
        "OutOfpods",
        `Node didn't have enough resource: pods, requested: 1, capacity: ${this.node.maxPods}`,
      );
      return;
    }
    const worker = new PodWorker(pod, this.deps());
    this.workers.set(uid, worker);
    worker.done.then(
      () => {
        this.workers.delete(uid);
        this.tokens.forget(uid);
      },
      (error) => this.log(`pod ${pod.metadata.name}: worker failed: ${(error as Error).stack}`),
    );
  }

  /** After a (re)list: pods gone from the API stop; runtime sandboxes of unknown pods are removed. */
  private async resync(listed: Pod[]): Promise<void> {
    this.statics?.listed(listed.filter(isMirrorPod));
    const pods = listed.filter((p) => !isMirrorPod(p));
    const live = new Set(pods.map((p) => p.metadata.uid));
    for (const [uid, worker] of this.workers) if (!live.has(uid)) worker.gone();
    for (const pod of pods) this.upsert(pod);
    if (this.synced) return;
    this.synced = true;
    for (const runtime of this.runtimes.values()) {
      for (const sandbox of await runtime.listSandboxes()) {
        if (live.has(sandbox.podUid) || this.statics?.has(sandbox.podUid)) continue;
        this.log(`removing orphaned sandbox ${sandbox.id}`);
        await runtime.removeSandbox(sandbox.id).catch((e) => this.log(`orphan ${sandbox.id}: ${e.message}`));
      }
    }
  }

  private async reject(pod: Pod, reason: string, message: string): Promise<void> {
    await this.client
      .patch(
        R.pods,
        pod.metadata.namespace,
        pod.metadata.name ?? "",
        "merge",
        { status: { phase: "Failed", reason, message } },
        { subresource: "status" },
      )
      .catch(() => {});
  }

  /**
   * Every 30 s rewrite the configMap, secret, downwardAPI and projected volumes of running pods (a
   * projected token past 80 % of its lifetime is requested again), so changed
   * sources show up in the files (as the kubelet's periodic sync does). Env vars stay as started.
   */
  private async refreshVolumes(): Promise<void> {
    while (!this.stopper.signal.aborted) {
      await this.clock.sleep(30_000, this.stopper.signal);
      for (const worker of this.workers.values()) {
        if (this.stopper.signal.aborted) return;
        const { pod, podIP } = worker.context;
        const live = (pod.spec.volumes ?? []).some(
          (v) => v.configMap || v.secret || v.downwardAPI || v.projected,
        );
        if (!live || !podIP || pod.metadata.deletionTimestamp || worker.state !== "running") continue;
        await preparePod(
          pod,
          podIP,
          this.podDir(pod.metadata.uid ?? ""),
          this.node.hostIP,
          apiSources(this.client, this.tokens),
        ).catch((error) => this.log(`volumes of ${pod.metadata.name}: ${(error as Error).message}`));
      }
    }
  }

  private deps(): PodDeps {
    return {
      runtimeFor: (pod) => this.runtimeFor(pod),
      clock: this.clock,
      nodeName: this.node.name,
      hostIP: this.node.hostIP,
      podDir: (pod) => this.podDir(pod.metadata.uid ?? ""),
      prepare: async (pod, podIP) => {
        const [prepared, services] = await Promise.all([
          preparePod(
            pod,
            podIP,
            this.podDir(pod.metadata.uid ?? ""),
            this.node.hostIP,
            apiSources(this.client, this.tokens),
          ),
          this.servicesFor(pod),
        ]);
        const fromServices = serviceEnv(pod, services);
        // The container's own env wins over the Service variables, as in the kubelet.
        return { ...prepared, env: (c) => ({ ...fromServices, ...prepared.env(c) }) };
      },
      clusterDns: this.clusterDns,
      pullAuth: (pod, image) => this.pullAuth(pod, image),
      writeStatus: async (pod, status) => {
        await this.client.patch(
          R.pods,
          pod.metadata.namespace,
          pod.metadata.name ?? "",
          "merge",
          { status },
          { subresource: "status" },
        );
      },
      release: async (pod) => {
        try {
          await this.client.delete(R.pods, pod.metadata.namespace, pod.metadata.name ?? "", {
            gracePeriodSeconds: 0,
            preconditions: { uid: pod.metadata.uid },
          });
        } catch (error) {
          if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
        }
      },
      probe: (probe, target) => runProbe(probe, target, target.container),
      crashBackoff: new Backoff(10_000, 300_000),
      pullBackoff: new Backoff(10_000, 300_000),
      syncPeriodMs: 1000,
      log: this.log,
      events: this.events,
      podStarted: (seconds) => this.metrics.podStart.observe(seconds),
    };
  }

  /** Start /metrics; a taken port is logged, not fatal (the pods matter more than their metrics). */
  private async serveMetrics(address: string): Promise<void> {
    try {
      const { server, url } = await serveMetrics(this.metrics, parseBindAddress(address));
      this.closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      this.log(`metrics: serving ${url}`);
    } catch (error) {
      this.log(`metrics: not served on ${address}: ${(error as Error).message}`);
    }
  }

  /** Pods with a sandbox and their containers by state, for kubelet_running_pods/containers. */
  private snapshot(): AgentSnapshot {
    const containers: Record<string, number> = { running: 0, exited: 0, created: 0 };
    let pods = 0;
    for (const worker of this.workers.values()) {
      const ctx = worker.context;
      if (!ctx.sandboxId || worker.state === "done") continue;
      pods++;
      for (const c of [...ctx.inits, ...ctx.mains]) {
        if (!c.id) continue;
        const state = "running" in c.state ? "running" : "terminated" in c.state ? "exited" : "created";
        containers[state]++;
      }
    }
    return { pods, containers };
  }

  /** The Services whose variables a pod gets: default/kubernetes, and its namespace's with enableServiceLinks. */
  private async servicesFor(pod: Pod): Promise<EnvService[]> {
    const ns = pod.metadata.namespace ?? "default";
    const links = (pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks !== false;
    const [own, master] = await Promise.all([
      links ? this.client.list<KubeObject & EnvService>(R.services, ns).then((l) => l.items) : [],
      this.client.get<KubeObject & EnvService>(R.services, "default", "kubernetes").catch((error) => {
        if (error instanceof ApiError && error.code === 404) return undefined;
        throw error;
      }),
    ]);
    return master ? [master, ...own] : own;
  }

  /** The runtime for a pod: its RuntimeClass's handler, or the default (first) runtime. */
  private async runtimeFor(pod: Pod): Promise<Runtime> {
    const className = pod.spec.runtimeClassName;
    let handler = [...this.runtimes.keys()][0];
    if (className) {
      let cached = this.runtimeClasses.get(className);
      if (!cached) {
        try {
          const rc = await this.client.get<KubeObject & { handler?: string }>(
            R.runtimeclasses,
            undefined,
            className,
          );
          cached = rc.handler ?? "";
        } catch (error) {
          if (error instanceof ApiError && error.code === 404)
            throw new Error(`RuntimeClass "${className}" not found`);
          throw error;
        }
        this.runtimeClasses.set(className, cached);
      }
      handler = cached;
    }
    const runtime = this.runtimes.get(handler ?? "");
    if (!runtime) throw new Error(`no runtime for handler "${handler}" on node ${this.node.name}`);
    return runtime;
  }

  /** Credentials for `image` from the pod's imagePullSecrets (kubernetes.io/dockerconfigjson). */
  private async pullAuth(pod: Pod, image: string): Promise<PullOptions["auth"]> {
    const registry = image.split("/")[0] ?? "";
    for (const ref of pod.spec.imagePullSecrets ?? []) {
      try {
        const secret = await this.client.get<KubeObject & { data?: Record<string, string> }>(
          R.secrets,
          pod.metadata.namespace,
          ref.name,
        );
        const raw = secret.data?.[".dockerconfigjson"] ?? secret.data?.[".dockercfg"];
        if (!raw) continue;
        const parsed = JSON.parse(Buffer.from(raw, "base64").toString("utf8"));
        const auths = (parsed.auths ?? parsed) as Record<
          string,
          { username?: string; password?: string; auth?: string }
        >;
        const entry = auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
        if (entry) return entry;
      } catch {
        // a missing or malformed pull secret is ignored, as the kubelet does
      }
    }
    // The cluster's own registry: the node's credential, as the kubelet's credential provider would give.
    const own = [new URL(this.options.server).host, ...(this.options.registryLogins ?? [])];
    if (own.includes(registry)) return { username: "node", password: this.options.token };
    // A mirror of ours (docker.io -> the local registry endpoint): the token, bound to the mirror's address so
    // containerd sends it there only and never upstream (CRI ParseAuth matches serverAddress to each host).
    const mirror = this.options.registryMirrors?.[imageRegistry(image)]?.find((m) => own.includes(m));
    if (mirror) return { username: "node", password: this.options.token, serveraddress: `http://${mirror}` };
    return undefined;
  }
}
