/**
 * The agent's Prometheus metrics under kubelet's names, with prom-client (on
 * a registry of its own, so two agents in one test process never share
 * series): pod start duration, running pods and containers, and runtime
 * operation latency, count and errors. The counts of pods and containers are
 * read from the agent when scraped.
 */
import { Counter, collectDefaultMetrics, exponentialBuckets, Gauge, Histogram, Registry } from "prom-client";
import type { Runtime } from "../runtime/types.ts";

/** kubelet's kubelet_pod_start_duration_seconds buckets. */
const POD_START_BUCKETS = [
  0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700,
  3600,
];
/** kubelet's kubelet_runtime_operations_duration_seconds buckets: exponential from 5 ms by 2.5, 14 of them. */
const RUNTIME_BUCKETS = exponentialBuckets(0.005, 2.5, 14);

/** kubelet's operation_type values for the CRI calls (runSandbox is run_podsandbox, ...). */
const OPERATIONS: Record<string, string> = {
  pullImage: "pull_image",
  runSandbox: "run_podsandbox",
  sandboxStatus: "podsandbox_status",
  stopSandbox: "stop_podsandbox",
  removeSandbox: "remove_podsandbox",
  createContainer: "create_container",
  startContainer: "start_container",
  stopContainer: "stop_container",
  removeContainer: "remove_container",
  containerStatus: "container_status",
  listSandboxes: "list_podsandbox",
  listContainers: "list_containers",
  execSync: "exec_sync",
};

/** What the agent reports when scraped. */
export interface AgentSnapshot {
  /** Pods with a running sandbox. */
  pods: number;
  /** Containers by state: running, exited, created (waiting), unknown. */
  containers: Record<string, number>;
}

/** One agent's metrics. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly podStart: Histogram;
  readonly operations: Counter;
  readonly errors: Counter;
  readonly latency: Histogram;

  constructor(snapshot: () => AgentSnapshot) {
    const registers = [this.registry];
    this.podStart = new Histogram({
      name: "kubelet_pod_start_duration_seconds",
      help: "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
      buckets: POD_START_BUCKETS,
      registers,
    });
    this.operations = new Counter({
      name: "kubelet_runtime_operations_total",
      help: "Cumulative number of runtime operations by operation type.",
      labelNames: ["operation_type"],
      registers,
    });
    this.errors = new Counter({
      name: "kubelet_runtime_operations_errors_total",
      help: "Cumulative number of runtime operation errors by operation type.",
      labelNames: ["operation_type"],
      registers,
    });
    this.latency = new Histogram({
      name: "kubelet_runtime_operations_duration_seconds",
      help: "Duration in seconds of runtime operations. Broken down by operation type.",
      labelNames: ["operation_type"],
      buckets: RUNTIME_BUCKETS,
      registers,
    });
    new Gauge({
      name: "kubelet_running_pods",
      help: "Number of pods that have a running pod sandbox",
      registers,
      collect() {
        this.set(snapshot().pods);
      },
    });
    new Gauge({
      name: "kubelet_running_containers",
      help: "Number of containers currently running",
      labelNames: ["container_state"],
      registers,
      collect() {
        this.reset();
        for (const [state, n] of Object.entries(snapshot().containers))
          this.set({ container_state: state }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The runtime with every CRI-like call counted and timed, failures counted as errors. */
  instrument(runtime: Runtime): Runtime {
    return new Proxy(runtime, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        const operation = typeof prop === "string" ? OPERATIONS[prop] : undefined;
        if (!operation || typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          const end = this.latency.startTimer({ operation_type: operation });
          this.operations.inc({ operation_type: operation });
          try {
            return await value.apply(target, args);
          } catch (error) {
            this.errors.inc({ operation_type: operation });
            throw error;
          } finally {
            end();
          }
        };
      },
    });
  }

  /** The text exposition and its content type. */
  async render(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
