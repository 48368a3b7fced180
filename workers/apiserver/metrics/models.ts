/**
 * The metrics.k8s.io/v1beta1 models (k8s.io/metrics pkg/apis/metrics/v1beta1),
 * in the generated table's format (openapi/schemas.ts): @kubernetes/client-node
 * has no models for them, and the OpenAPI document and field validation need one.
 */

/** openapi/schemas.ts's Model, restated: importing that module would pull its JSON into the generator's program. */
interface Model {
  name: string;
  description?: string;
  required?: string[];
  properties: Record<string, { t: string; f?: string; d?: string }>;
}

const QUANTITIES = "{ [key: string]: string; }";
const META = { t: "V1ObjectMeta" };
const API_VERSION = {
  t: "string",
  d: "APIVersion defines the versioned schema of this representation of an object.",
};
const KIND = {
  t: "string",
  d: "Kind is a string value representing the REST resource this object represents.",
};
const TIMESTAMP = {
  t: "Date",
  f: "date-time",
  d: "The following fields define time interval from which metrics were collected from the interval [Timestamp-Window, Timestamp].",
};
const WINDOW = {
  t: "string",
  d: "The length of the interval the usage was measured over (a duration, e.g. 15s).",
};

/** NodeMetrics, PodMetrics and ContainerMetrics. */
export const METRICS_MODELS: Record<string, Model> = {
  V1beta1NodeMetrics: {
    name: "io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics",
    description: "NodeMetrics sets resource usage metrics of a node.",
    properties: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: META,
      timestamp: TIMESTAMP,
      window: WINDOW,
      usage: { t: QUANTITIES, d: "The memory usage is the memory working set." },
    },
    required: ["timestamp", "window", "usage"],
  },
  V1beta1PodMetrics: {
    name: "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics",
    description: "PodMetrics sets resource usage metrics of a pod.",
    properties: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: META,
      timestamp: TIMESTAMP,
      window: WINDOW,
      containers: {
        t: "Array<V1beta1ContainerMetrics>",
        d: "Metrics for all containers are collected within the same time window.",
      },
    },
    required: ["timestamp", "window", "containers"],
  },
  V1beta1ContainerMetrics: {
    name: "io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics",
    description: "ContainerMetrics sets resource usage metrics of a container.",
    properties: {
      name: { t: "string", d: "Container name corresponding to the one from pod.spec.containers." },
      usage: { t: QUANTITIES, d: "The memory usage is the memory working set." },
    },
    required: ["name", "usage"],
  },
};
