/**
 * The pod lifecycle as explicit states (krustlet's model): each unit does one
 * thing and names the states it may hand over to; the worker (worker.ts)
 * refuses any other transition.
 *
 *   adopting ─▶ pulling ─▶ starting ─▶ running ─▶ terminated
 *                 │  ▲                  │  ▲  │
 *                 ▼  │                  ▼  │  └─▶ backoff ─▶ starting
 *             pullBackoff            (starting)
 *   any state but terminated ─▶ terminating ─▶ terminated ─▶ (released)
 */
import { type ContainerConfig, PullError, type SandboxConfig } from "../runtime/types.ts";
import { ConfigError, type ContainerRecord, deleting, type PodContext } from "./context.ts";
import { type Container, type Pod, parseQuantity } from "./k8s.ts";
import { ContainerProber } from "./probes.ts";

/** State names. "done" ends the worker. */
export type StateName =
  | "adopting"
  | "pulling"
  | "pullBackoff"
  | "starting"
  | "running"
  | "backoff"
  | "terminating"
  | "terminated"
  | "done";

/** One unit of the lifecycle. */
export interface State {
  name: StateName;
  /** Where this state may go next. */
  next: StateName[];
  run(ctx: PodContext): Promise<StateName>;
}

const syncMs = (ctx: PodContext) => ctx.deps.syncPeriodMs ?? 1000;
const now = (ctx: PodContext) => ctx.deps.clock.now().getTime();
const all = (ctx: PodContext) => [...ctx.inits, ...ctx.mains];
/** containerID as kubelets print it: "<runtime>://<id>". */
export const containerUri = (ctx: PodContext, id = "") =>
  `${ctx.runtime.handler === "wasm" ? "wasm" : "containerd"}://${id}`;
const backoffKey = (ctx: PodContext, c: ContainerRecord) => `${ctx.pod.metadata.uid}/${c.spec.name}`;

/** After an agent (re)start: take over containers the runtime already runs for this pod instead of restarting them. */
const adopting: State = {
  name: "adopting",
  next: ["pulling", "running", "terminating", "terminated"],
  async run(ctx) {
    const uid = ctx.pod.metadata.uid ?? "";
    const phase = ctx.pod.status?.phase;
    if ((phase === "Succeeded" || phase === "Failed") && !deleting(ctx)) {
      // Finished before this agent started: never run it again, just keep its final status.
      ctx.finalPhase = phase;
      const old = [
        ...(ctx.pod.status?.containerStatuses ?? []),
        ...(ctx.pod.status?.initContainerStatuses ?? []),
      ];
      for (const c of all(ctx)) {
        const o = old.find((s) => s.name === c.spec.name);
        if (o)
          Object.assign(c, {
            state: o.state,
            lastState: o.lastState,
            restartCount: o.restartCount,
            imageID: o.imageID,
          });
        c.done = true;
        c.needsStart = false;
      }
      return "terminated";
    }
    const sandbox = (await ctx.runtime.listSandboxes()).find((s) => s.podUid === uid && s.state === "ready");
    let adopted = false;
    if (sandbox) {
      ctx.sandboxId = sandbox.id;
      ctx.podIP = sandbox.ip ?? ctx.deps.hostIP;
      const previous = ctx.pod.status;
      const containers = await ctx.runtime.listContainers(sandbox.id);
      for (const c of all(ctx)) {
        const mine = containers
          .filter((x) => x.name === c.spec.name)
          .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0));
        const latest = mine[mine.length - 1];
        const old = [...(previous?.containerStatuses ?? []), ...(previous?.initContainerStatuses ?? [])].find(
          (s) => s.name === c.spec.name,
        );
        c.restartCount = old?.restartCount ?? 0;
        if (old?.lastState) c.lastState = old.lastState;
        if (!latest) continue;
        adopted = true;
        c.id = latest.id;
        c.pulled = true;
        c.imageID = latest.imageId ?? "";
        // Seen as running: observe() then records an exit and decides restarts as for any exit.
        c.needsStart = false;
        c.state = { running: { startedAt: latest.startedAt?.toISOString() } };
        if (latest.state === "running") startProber(ctx, c);
      }
      if (adopted) for (const c of ctx.inits) c.done = c.done || ctx.mains.some((m) => m.id);
    }
    if (deleting(ctx)) return "terminating";
    if (adopted) return "running";
    return "pulling";
  },
};

/** Pull every image not yet pulled; a failure is ErrImagePull, then back-off. */
const pulling: State = {
  name: "pulling",
  next: ["starting", "pullBackoff", "terminating"],
  async run(ctx) {
    for (const c of all(ctx)) {
      if (deleting(ctx)) return "terminating";
      if (c.pulled || c.done) continue;
      const image = c.spec.image ?? "";
      const policy =
        c.spec.imagePullPolicy ??
        (/:latest$|^[^:@]+$/.test(image.split("/").pop() ?? "") ? "Always" : "IfNotPresent");
      try {
        const auth = await ctx.deps.pullAuth?.(ctx.pod, image);
        const result = await ctx.runtime.pullImage(image, { policy, auth });
        c.pulled = true;
        c.imageID = result.digest;
      } catch (error) {
        const reason = error instanceof PullError ? error.reason : "ErrImagePull";
        c.state = { waiting: { reason, message: (error as Error).message } };
        const delay = ctx.deps.pullBackoff.failure(`${ctx.pod.metadata.uid}/pull/${image}`, now(ctx));
        c.restartAt = now(ctx) + delay;
        await ctx.report();
        return "pullBackoff";
      }
    }
    return "starting";
  },
};

/** Wait out an image pull back-off (ImagePullBackOff). */
const pullBackoff: State = {
  name: "pullBackoff",
  next: ["pulling", "terminating"],
  async run(ctx) {
    const waiting = all(ctx).filter((c) => !c.pulled && c.restartAt !== undefined);
    for (const c of waiting)
      c.state = {
        waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${c.spec.image}"` },
      };
    await ctx.report();
    const until = Math.min(...waiting.map((c) => c.restartAt ?? 0));
    while (now(ctx) < until) {
      if (deleting(ctx)) return "terminating";
      await ctx.sleep(until - now(ctx));
    }
    for (const c of waiting) c.restartAt = undefined;
    return deleting(ctx) ? "terminating" : "pulling";
  },
};

/** Create the sandbox, then start the next init container, or every main container that is due. */
const starting: State = {
  name: "starting",
  next: ["running", "backoff", "pulling", "terminating"],
  async run(ctx) {
    if (deleting(ctx)) return "terminating";
    if (all(ctx).some((c) => !c.pulled && !c.done)) return "pulling";
    const { pod, deps } = ctx;
    if (!ctx.sandboxId) {
      const sandbox = await ctx.runtime.runSandbox({
        uid: pod.metadata.uid ?? "",
        namespace: pod.metadata.namespace ?? "default",
        name: pod.metadata.name ?? "",
        hostname: pod.spec.hostname ?? pod.metadata.name ?? "",
        dns: dnsOf(pod),
        labels: pod.metadata.labels ?? {},
        annotations: pod.metadata.annotations ?? {},
        ports: pod.spec.containers.flatMap((c) =>
          (c.ports ?? []).map((p) => ({
            containerPort: p.containerPort,
            hostPort: p.hostPort,
            protocol: (p.protocol ?? "TCP") as "TCP",
            name: p.name,
          })),
        ),
        podDir: deps.podDir(pod),
        hostNetwork: pod.spec.hostNetwork === true,
        readOnlyVolumes: (pod.spec.volumes ?? [])
          .filter((v) => v.configMap || v.secret || v.downwardAPI)
          .map((v) => v.name),
      });
      ctx.sandboxId = sandbox.id;
      ctx.podIP = sandbox.ip ?? deps.hostIP;
    }
    const nextInit = ctx.inits.find((c) => !c.done);
    const due = nextInit
      ? "running" in nextInit.state
        ? []
        : [nextInit]
      : ctx.mains.filter((c) => c.needsStart && (c.restartAt ?? 0) <= now(ctx));
    let prepared: Awaited<ReturnType<typeof deps.prepare>>;
    try {
      prepared = await deps.prepare(pod, ctx.podIP ?? deps.hostIP);
    } catch (error) {
      const reason = error instanceof ConfigError ? "CreateContainerConfigError" : "CreateContainerError";
      for (const c of due) {
        c.state = { waiting: { reason, message: (error as Error).message } };
        c.restartAt = now(ctx) + 10_000;
      }
      await ctx.report();
      return "backoff";
    }
    for (const c of due) {
      // Leaving a crash back-off arms the next, doubled window (kubelet's backOff.Next on restart).
      if (c.failedAt !== undefined && c.restartAt !== undefined)
        ctx.deps.crashBackoff.check(backoffKey(ctx, c), c.failedAt, now(ctx));
      try {
        await startContainer(ctx, c, prepared);
      } catch (error) {
        // Runtimes name a refusal (e.g. CreateContainerConfigError for a privileged container).
        const reason = (error as { reason?: string }).reason ?? "RunContainerError";
        c.state = { waiting: { reason, message: (error as Error).message } };
        c.restartAt = now(ctx) + ctx.deps.crashBackoff.failure(backoffKey(ctx, c), now(ctx));
      }
    }
    await ctx.report();
    return "running";
  },
};

async function startContainer(
  ctx: PodContext,
  c: ContainerRecord,
  prepared: Awaited<ReturnType<PodContext["deps"]["prepare"]>>,
): Promise<void> {
  const { pod, deps } = ctx;
  const limits = c.spec.resources?.limits ?? {};
  const requests = c.spec.resources?.requests ?? {};
  const millis = (v?: string) => {
    const q = parseQuantity(v);
    return q === undefined ? undefined : Math.round(q * 1000);
  };
  const attempt = c.id || "terminated" in c.state ? c.restartCount + 1 : c.restartCount;
  const previousId = c.id;
  const id = await ctx.runtime.createContainer(
    ctx.sandboxId ?? "",
    {
      name: c.spec.name,
      image: c.spec.image ?? "",
      command: c.spec.command ?? [],
      args: c.spec.args ?? [],
      env: prepared.env(c.spec),
      workingDir: c.spec.workingDir,
      mounts: prepared.mounts(c.spec),
      limits: { memoryBytes: parseQuantity(limits.memory), cpuMillis: millis(limits.cpu) },
      requests: { memoryBytes: parseQuantity(requests.memory), cpuMillis: millis(requests.cpu) },
      ports: (c.spec.ports ?? []).map((p) => ({
        containerPort: p.containerPort,
        protocol: p.protocol ?? "TCP",
        name: p.name,
      })),
      logPath: `${deps.podDir(pod)}/logs/${c.spec.name}/${attempt}.log`,
      securityContext: securityContextOf(pod, c.spec),
      tty: c.spec.tty,
      stdin: c.spec.stdin,
    },
    {
      uid: pod.metadata.uid ?? "",
      namespace: pod.metadata.namespace ?? "default",
      name: pod.metadata.name ?? "",
      hostname: pod.metadata.name ?? "",
      labels: pod.metadata.labels ?? {},
      annotations: pod.metadata.annotations ?? {},
      ports: [],
      podDir: deps.podDir(pod),
    },
  );
  await ctx.runtime.startContainer(id);
  if (previousId) {
    if ("terminated" in c.state) c.lastState = c.state;
    c.restartCount = attempt;
    // Keep only the previous instance (for `kubectl logs --previous`), as the kubelet does.
    const stale = (await ctx.runtime.listContainers(ctx.sandboxId)).filter(
      (x) => x.name === c.spec.name && x.id !== id && x.id !== previousId,
    );
    for (const s of stale) await ctx.runtime.removeContainer(s.id);
  }
  c.id = id;
  c.needsStart = false;
  c.restartAt = undefined;
  c.failedAt = undefined;
  c.killing = undefined;
  const status = await ctx.runtime.containerStatus(id);
  c.state = { running: { startedAt: (status?.startedAt ?? deps.clock.now()).toISOString() } };
  startProber(ctx, c);
}

/** The pod's own DNS settings (dnsPolicy None + dnsConfig); otherwise the runtime's default resolv.conf. */
function dnsOf(pod: Pod): SandboxConfig["dns"] {
  const spec = pod.spec as {
    dnsPolicy?: string;
    dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  };
  if (spec.dnsPolicy !== "None" || !spec.dnsConfig) return undefined;
  return {
    servers: spec.dnsConfig.nameservers ?? [],
    searches: spec.dnsConfig.searches ?? [],
    options: (spec.dnsConfig.options ?? []).map((o) =>
      o.value === undefined ? o.name : `${o.name}:${o.value}`,
    ),
  };
}

/** The container's security context for the runtime: container fields over the pod's runAsUser/runAsGroup. */
function securityContextOf(pod: Pod, container: Container): ContainerConfig["securityContext"] {
  type Sc = NonNullable<ContainerConfig["securityContext"]>;
  const podSc = ((pod.spec as { securityContext?: Sc }).securityContext ?? {}) as Sc;
  const sc = (container.securityContext ?? {}) as Sc;
  return {
    runAsUser: sc.runAsUser ?? podSc.runAsUser,
    runAsGroup: sc.runAsGroup ?? podSc.runAsGroup,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem,
    privileged: sc.privileged,
    capabilities: sc.capabilities,
  };
}

function startProber(ctx: PodContext, c: ContainerRecord): void {
  c.prober?.stop();
  if (c.init) {
    c.ready = false;
    c.started = false;
    return;
  }
  const prober = new ContainerProber(
    c.spec,
    { podIP: ctx.podIP ?? ctx.deps.hostIP, containerId: c.id ?? "", runtime: ctx.runtime, container: c.spec },
    ctx.deps.clock,
    ctx.deps.probe,
    {
      changed: () => {
        c.ready = prober.ready;
        c.started = prober.started;
        ctx.poke();
      },
      kill: (reason) => {
        c.killing = reason;
        ctx.poke();
      },
    },
  );
  c.prober = prober;
  c.ready = prober.ready;
  c.started = prober.started;
  prober.start();
}

/**
 * Look at every container the runtime runs for us; record exits and decide
 * restarts (restartPolicy + crash back-off). Shared by running and backoff.
 */
async function observe(ctx: PodContext): Promise<void> {
  const policy = ctx.pod.spec.restartPolicy ?? "Always";
  for (const c of all(ctx)) {
    if (!c.id || !("running" in c.state)) continue;
    if (c.killing) {
      const grace = ctx.pod.spec.terminationGracePeriodSeconds ?? 30;
      ctx.deps.log?.(c.killing);
      await ctx.runtime.stopContainer(c.id, grace);
    }
    const status = await ctx.runtime.containerStatus(c.id);
    if (status?.state !== "exited") continue;
    c.prober?.stop();
    c.ready = false;
    c.started = false;
    const exitCode = status.exitCode ?? 255;
    c.state = {
      terminated: {
        exitCode,
        reason: status.reason ?? (exitCode === 0 ? "Completed" : "Error"),
        ...(status.message ? { message: status.message } : {}),
        startedAt: c.state.running?.startedAt,
        finishedAt: (status.finishedAt ?? ctx.deps.clock.now()).toISOString(),
        containerID: containerUri(ctx, c.id),
      },
    };
    const failed = exitCode !== 0;
    if (c.init && !failed) {
      c.done = true;
      continue;
    }
    const restart =
      policy === "Always" || (policy === "OnFailure" && failed) || (c.init && failed && policy !== "Never");
    if (!restart) {
      c.done = true;
      if (c.init) ctx.finalPhase = "Failed";
      continue;
    }
    const finishedAt = status.finishedAt?.getTime() ?? now(ctx);
    const wait = ctx.deps.crashBackoff.check(backoffKey(ctx, c), finishedAt, now(ctx));
    c.needsStart = true;
    c.failedAt = finishedAt;
    c.restartAt = wait > 0 ? now(ctx) + wait : undefined;
  }
  for (const c of all(ctx)) {
    if (c.needsStart && (c.restartAt ?? 0) > now(ctx) && "terminated" in c.state) {
      const delay = ctx.deps.crashBackoff.delay(backoffKey(ctx, c)) / 1000;
      c.lastState = c.state;
      c.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${delay}s restarting failed container=${c.spec.name} pod=${ctx.pod.metadata.name}_${ctx.pod.metadata.namespace}(${ctx.pod.metadata.uid})`,
        },
      };
    }
  }
  if (
    ctx.inits.some((c) => c.done && c.init && "terminated" in c.state && c.state.terminated?.exitCode !== 0)
  )
    ctx.finalPhase = "Failed";
}

/** Watch the containers: exits, probes, restarts due. */
const running: State = {
  name: "running",
  next: ["running", "starting", "backoff", "terminating", "terminated"],
  async run(ctx) {
    for (;;) {
      if (deleting(ctx)) return "terminating";
      await observe(ctx);
      await ctx.report();
      if (ctx.finalPhase === "Failed") return "terminated";
      const nextInit = ctx.inits.find((c) => !c.done);
      if (nextInit && !("running" in nextInit.state) && !nextInit.needsStart) return "starting";
      const pending = all(ctx).filter((c) => c.needsStart);
      if (!nextInit && pending.some((c) => (c.restartAt ?? 0) <= now(ctx))) return "starting";
      const anyRunning = all(ctx).some((c) => "running" in c.state);
      if (!anyRunning && pending.length > 0) return "backoff";
      if (!anyRunning && ctx.mains.every((c) => c.done)) {
        ctx.finalPhase = ctx.mains.every((c) => c.state.terminated?.exitCode === 0) ? "Succeeded" : "Failed";
        return "terminated";
      }
      const nextRestart = Math.min(...pending.map((c) => c.restartAt ?? Number.POSITIVE_INFINITY));
      await ctx.sleep(Math.max(1, Math.min(syncMs(ctx), nextRestart - now(ctx))));
    }
  },
};

/** Nothing runs; wait for the earliest crash back-off to end (CrashLoopBackOff). */
const backoff: State = {
  name: "backoff",
  next: ["starting", "terminating"],
  async run(ctx) {
    await ctx.report();
    for (;;) {
      if (deleting(ctx)) return "terminating";
      const until = Math.min(
        ...all(ctx)
          .filter((c) => c.needsStart)
          .map((c) => c.restartAt ?? 0),
      );
      if (!(until > now(ctx))) return "starting";
      await ctx.sleep(until - now(ctx));
    }
  },
};

/** Graceful stop: SIGTERM, then SIGKILL after the grace period; all containers in parallel. */
const terminating: State = {
  name: "terminating",
  next: ["terminated"],
  async run(ctx) {
    const grace =
      ctx.pod.metadata.deletionGracePeriodSeconds ?? ctx.pod.spec.terminationGracePeriodSeconds ?? 30;
    for (const c of all(ctx)) c.prober?.stop();
    await Promise.all(
      all(ctx)
        .filter((c) => c.id && "running" in c.state)
        .map((c) => ctx.runtime.stopContainer(c.id ?? "", grace)),
    );
    for (const c of all(ctx)) {
      c.needsStart = false;
      c.ready = false;
      if (!c.id || !("running" in c.state)) {
        if ("waiting" in c.state) c.state = { terminated: { exitCode: 0, reason: "ContainerStatusUnknown" } };
        continue;
      }
      const status = await ctx.runtime.containerStatus(c.id);
      c.state = {
        terminated: {
          exitCode: status?.exitCode ?? 137,
          reason: status?.reason ?? "Error",
          startedAt: c.state.running?.startedAt,
          finishedAt: (status?.finishedAt ?? ctx.deps.clock.now()).toISOString(),
          containerID: containerUri(ctx, c.id),
        },
      };
    }
    return "terminated";
  },
};

/** Final status; once the pod is deleted, remove its sandbox and release the object. */
const terminated: State = {
  name: "terminated",
  next: ["done"],
  async run(ctx) {
    for (const c of all(ctx)) c.prober?.stop();
    if (!deleting(ctx)) {
      // A finished pod stays (Succeeded/Failed) until someone deletes it; its containers are stopped already.
      await ctx.report();
      while (!deleting(ctx)) await ctx.sleep(60_000);
      for (const c of all(ctx)) if (c.id && "running" in c.state) await ctx.runtime.stopContainer(c.id, 0);
    } else {
      await ctx.report();
    }
    if (ctx.sandboxId) await ctx.runtime.removeSandbox(ctx.sandboxId);
    for (const c of all(ctx)) {
      ctx.deps.crashBackoff.reset(backoffKey(ctx, c));
    }
    await ctx.deps.release(ctx.pod);
    return "done";
  },
};

/** Every state by name. */
export const STATES: Record<Exclude<StateName, "done">, State> = {
  adopting,
  pulling,
  pullBackoff,
  starting,
  running,
  backoff,
  terminating,
  terminated,
};
