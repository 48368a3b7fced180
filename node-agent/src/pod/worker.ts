/**
 * One pod's worker: runs the lifecycle states (states/) one after another,
 * checking every transition against the state's declared successors, and
 * carries the pod's latest object in. A state that throws is retried after
 * a sync period; it never takes down other pods or the agent.
 */
import { ApiError } from "../../../workers/client/status.ts";
import type { ContainerRecord, PodContext, PodDeps } from "./context.ts";
import type { Container, Pod } from "./k8s.ts";
import { STATES, type State, type StateName } from "./states/index.ts";
import { buildStatus } from "./status.ts";

function record(spec: Container, init: boolean): ContainerRecord {
  return {
    spec,
    init,
    restartCount: 0,
    state: { waiting: { reason: "ContainerCreating" } },
    lastState: {},
    ready: false,
    started: false,
    imageID: "",
    pulled: false,
    done: false,
    needsStart: !init,
  };
}

/** Drives one pod from first sight to release. */
export class PodWorker {
  /** States visited, in order (tests and debugging). */
  readonly history: StateName[] = [];
  readonly done: Promise<void>;
  private readonly ctx: PodContext;
  private lastWritten = "";

  constructor(pod: Pod, deps: PodDeps) {
    const ctx: PodContext = {
      pod,
      deps,
      runtime: undefined as never,
      startTime: pod.status?.startTime ?? deps.clock.now().toISOString(),
      inits: (pod.spec.initContainers ?? []).map((c) => record(c, true)),
      mains: pod.spec.containers.map((c) => record(c, false)),
      wake: new AbortController(),
      sleep: (ms) => deps.clock.sleep(ms, ctx.wake.signal),
      poke: () => {
        const old = ctx.wake;
        ctx.wake = new AbortController();
        old.abort();
      },
      report: () => this.report(),
    };
    for (const c of ctx.inits) c.state = { waiting: { reason: "PodInitializing" } };
    if (ctx.inits.length) for (const c of ctx.mains) c.state = { waiting: { reason: "PodInitializing" } };
    this.ctx = ctx;
    this.done = this.run();
  }

  /** The state the pod is in now. */
  get state(): StateName {
    return this.history[this.history.length - 1] ?? "adopting";
  }

  /** The context (read-only use: tests, logs lookup). */
  get context(): Readonly<PodContext> {
    return this.ctx;
  }

  /** A newer version of the pod object arrived (e.g. deletionTimestamp set). */
  update(pod: Pod): void {
    this.ctx.pod = pod;
    this.ctx.poke();
  }

  /** The pod object is gone from the API: stop at once and do not write status again. */
  gone(): void {
    const pod = this.ctx.pod;
    if (!pod.metadata.deletionTimestamp) {
      this.ctx.pod = {
        ...pod,
        metadata: {
          ...pod.metadata,
          deletionTimestamp: this.ctx.deps.clock.now().toISOString(),
          deletionGracePeriodSeconds: 0,
        },
      };
    }
    this.ctx.poke();
  }

  private async run(): Promise<void> {
    const { deps } = this.ctx;
    for (;;) {
      try {
        this.ctx.runtime = await deps.runtimeFor(this.ctx.pod);
        break;
      } catch (error) {
        deps.log?.(`pod ${this.ctx.pod.metadata.name}: ${(error as Error).message}`);
        for (const c of [...this.ctx.inits, ...this.ctx.mains])
          c.state = { waiting: { reason: "CreateContainerConfigError", message: (error as Error).message } };
        await this.report();
        if (this.ctx.pod.metadata.deletionTimestamp) {
          await deps.release(this.ctx.pod).catch(() => {});
          return;
        }
        await this.ctx.sleep(10_000);
      }
    }
    const seen = deps.clock.now().getTime();
    let state: StateName = "adopting";
    this.history.push(state);
    while (state !== "done") {
      const unit: State = STATES[state];
      let next: StateName;
      try {
        next = await unit.run(this.ctx);
      } catch (error) {
        deps.log?.(
          `pod ${this.ctx.pod.metadata.namespace}/${this.ctx.pod.metadata.name} in ${state}: ${(error as Error).stack}`,
        );
        await this.ctx.sleep(deps.syncPeriodMs ?? 1000);
        continue;
      }
      if (!unit.next.includes(next)) throw new Error(`pod state machine: ${state} may not go to ${next}`);
      // A pod adopted after an agent restart did not start now: only a start this worker made is timed.
      if (next === "running" && !this.history.includes("running") && state !== "adopting")
        deps.podStarted?.((deps.clock.now().getTime() - seen) / 1000);
      state = next;
      // Yield between states so a transition cycle can never starve timers and I/O.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.history[this.history.length - 1] !== state || state !== "running") this.history.push(state);
    }
  }

  /** Write status when it differs from what was last written. */
  private async report(): Promise<void> {
    const status = buildStatus(this.ctx);
    const text = JSON.stringify(status);
    if (text === this.lastWritten) return;
    try {
      await this.ctx.deps.writeStatus(this.ctx.pod, status);
      this.lastWritten = text;
      this.ctx.pod = { ...this.ctx.pod, status };
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) this.gone();
      else this.ctx.deps.log?.(`status of ${this.ctx.pod.metadata.name}: ${(error as Error).message}`);
    }
  }
}
