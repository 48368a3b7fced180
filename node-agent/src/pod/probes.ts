/**
 * Startup, readiness and liveness probes for one container, with the
 * Kubernetes defaults (period 10 s, timeout 1 s, success 1, failure 3,
 * initialDelay 0). Startup gates the other two; a failed liveness or startup
 * probe asks the worker to kill the container; readiness flips `ready`.
 */
import type { Clock } from "../clock.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Container, Probe } from "./k8s.ts";

/** Where a probe is sent: the pod's IP and the container it checks (for exec). */
export interface ProbeTarget {
  podIP: string;
  containerId: string;
  runtime: Runtime;
  /** The container's spec (named ports). */
  container?: Container;
}

/** What the prober reports back to the pod worker. */
export interface ProberEvents {
  /** ready or started changed: write status. */
  changed(): void;
  /** Liveness (or startup) failed past its threshold: restart the container. */
  kill(reason: string): void;
  /** One attempt failed (kubelet's Unhealthy event); `kind` is liveness, readiness or startup. */
  failed?(kind: "liveness" | "readiness" | "startup"): void;
}

/** Probe timing with Kubernetes defaults applied. */
export function probeTiming(probe: Probe) {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds ?? 10) * 1000,
    timeoutSeconds: probe.timeoutSeconds ?? 1,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/** Runs the probes of one running container until stop(). */
export class ContainerProber {
  ready: boolean;
  started: boolean;
  private readonly stopper = new AbortController();

  constructor(
    private readonly container: Container,
    private readonly target: ProbeTarget,
    private readonly clock: Clock,
    private readonly run: (probe: Probe, target: ProbeTarget) => Promise<boolean>,
    private readonly events: ProberEvents,
  ) {
    this.started = !container.startupProbe;
    this.ready = !container.readinessProbe && this.started;
  }

  /** Begin probing (non-blocking). */
  start(): void {
    void this.loop();
  }

  /** Stop all probe loops. */
  stop(): void {
    this.stopper.abort();
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async loop(): Promise<void> {
    const { startupProbe, livenessProbe, readinessProbe } = this.container;
    if (startupProbe) {
      const ok = await this.until(startupProbe, "startup");
      if (!ok) return;
      this.started = true;
      if (!readinessProbe) this.ready = true;
      this.events.changed();
    }
    if (livenessProbe) void this.until(livenessProbe, "liveness");
    if (readinessProbe) void this.readiness(readinessProbe);
  }

  /** Startup / liveness: probe until failureThreshold consecutive failures (→ kill), or for startup the first success. */
  private async until(probe: Probe, kind: "startup" | "liveness"): Promise<boolean> {
    const t = probeTiming(probe);
    await this.clock.sleep(t.initialDelayMs, this.stopper.signal);
    let failures = 0;
    let successes = 0;
    while (!this.stopped) {
      const ok = await this.attempt(probe);
      if (this.stopped) return false;
      if (ok) {
        failures = 0;
        successes++;
        if (kind === "startup" && successes >= t.successThreshold) return true;
      } else {
        successes = 0;
        failures++;
        this.events.failed?.(kind);
        if (failures >= t.failureThreshold) {
          this.events.kill(`Container ${this.container.name} failed ${kind} probe, will be restarted`);
          return false;
        }
      }
      await this.clock.sleep(t.periodMs, this.stopper.signal);
    }
    return false;
  }

  private async readiness(probe: Probe): Promise<void> {
    const t = probeTiming(probe);
    await this.clock.sleep(t.initialDelayMs, this.stopper.signal);
    let failures = 0;
    let successes = 0;
    while (!this.stopped) {
      const ok = await this.attempt(probe);
      if (this.stopped) return;
      if (ok) {
        failures = 0;
        successes++;
        if (!this.ready && successes >= t.successThreshold) {
          this.ready = true;
          this.events.changed();
        }
      } else {
        successes = 0;
        failures++;
        this.events.failed?.("readiness");
        if (this.ready && failures >= t.failureThreshold) {
          this.ready = false;
          this.events.changed();
        }
      }
      await this.clock.sleep(t.periodMs, this.stopper.signal);
    }
  }

  private async attempt(probe: Probe): Promise<boolean> {
    try {
      return await this.run(probe, this.target);
    } catch {
      return false;
    }
  }
}
