/**
 * The compact sample an agent pushes to the control plane (workers/metrics):
 * usage already turned into rates over `windowSeconds`, like one
 * metrics-server point. Shared by the agent, the Worker and the MetricsObject.
 */

/** Usage of a node or a container: CPU in nanocores, memory working set in bytes. */
export interface UsagePoint {
  cpuNanoCores: number;
  memoryBytes: number;
}

/** One pod's containers. */
export interface PodSample {
  namespace: string;
  name: string;
  uid: string;
  containers: ({ name: string } & UsagePoint)[];
}

/** What one node reports each period. */
export interface NodeSample {
  /** RFC 3339 time of the later of the two readings the rates come from. */
  timestamp: string;
  /** Seconds between the two readings. */
  windowSeconds: number;
  node: UsagePoint;
  pods: PodSample[];
}
