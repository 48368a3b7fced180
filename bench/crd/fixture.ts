/**
 * A large CRD written after a real-world one (the Prometheus Operator's
 * `Prometheus`: pod-spec-like containers with probes and lifecycle hooks,
 * selectors, remote write with TLS and relabelling, alerting, status
 * conditions), about 500 schema properties, nested up to nine levels, and
 * an object of about 50 KB that satisfies it. Shared by bench/crd and the
 * e2e test. Written for this project; no schema was copied.
 */
import type { SchemaProps } from "../../workers/apiserver/crd/types.ts";

const str = (extra: SchemaProps = {}): SchemaProps => ({ type: "string", ...extra });
const int = (extra: SchemaProps = {}): SchemaProps => ({ type: "integer", format: "int32", ...extra });
const bool: SchemaProps = { type: "boolean" };
const obj = (properties: Record<string, SchemaProps>, extra: SchemaProps = {}): SchemaProps => ({
  type: "object",
  properties,
  ...extra,
});
const list = (items: SchemaProps, extra: SchemaProps = {}): SchemaProps => ({
  type: "array",
  items,
  ...extra,
});
const stringMap: SchemaProps = { type: "object", additionalProperties: { type: "string" } };
const intOrString: SchemaProps = { "x-kubernetes-int-or-string": true };
const quantities: SchemaProps = {
  type: "object",
  additionalProperties: { "x-kubernetes-int-or-string": true },
};
const DURATION =
  "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$";

const keyRef = obj({ name: str(), key: str(), optional: bool }, { required: ["key"] });
const selector = obj({
  matchLabels: stringMap,
  matchExpressions: list(
    obj(
      { key: str(), operator: str({ enum: ["In", "NotIn", "Exists", "DoesNotExist"] }), values: list(str()) },
      { required: ["key", "operator"] },
    ),
  ),
});
const handler = obj({
  exec: obj({ command: list(str()) }),
  httpGet: obj(
    {
      path: str(),
      port: intOrString,
      host: str(),
      scheme: str({ enum: ["HTTP", "HTTPS"] }),
      httpHeaders: list(obj({ name: str(), value: str() }, { required: ["name", "value"] })),
    },
    { required: ["port"] },
  ),
  tcpSocket: obj({ port: intOrString, host: str() }, { required: ["port"] }),
  sleep: obj({ seconds: { type: "integer", format: "int64" } }, { required: ["seconds"] }),
});
const probe: SchemaProps = {
  ...handler,
  properties: {
    ...handler.properties,
    grpc: obj({ port: int(), service: str() }, { required: ["port"] }),
    initialDelaySeconds: int({ minimum: 0 }),
    periodSeconds: int({ minimum: 1 }),
    timeoutSeconds: int({ minimum: 1 }),
    successThreshold: int({ minimum: 1 }),
    failureThreshold: int({ minimum: 1 }),
    terminationGracePeriodSeconds: { type: "integer", format: "int64" },
  },
};
const securityContext = obj({
  capabilities: obj({ add: list(str()), drop: list(str()) }),
  privileged: bool,
  readOnlyRootFilesystem: bool,
  runAsUser: { type: "integer", format: "int64" },
  runAsGroup: { type: "integer", format: "int64" },
  runAsNonRoot: bool,
  allowPrivilegeEscalation: bool,
  procMount: str(),
  seccompProfile: obj({
    type: str({ enum: ["RuntimeDefault", "Unconfined", "Localhost"] }),
    localhostProfile: str(),
  }),
  seLinuxOptions: obj({ user: str(), role: str(), type: str(), level: str() }),
});
const container = obj(
  {
    name: str({ pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 }),
    image: str(),
    imagePullPolicy: str({ enum: ["Always", "Never", "IfNotPresent"] }),
    command: list(str()),
    args: list(str()),
    workingDir: str(),
    ports: list(
      obj(
        {
          name: str(),
          containerPort: int({ minimum: 1, maximum: 65535 }),
          hostPort: int(),
          hostIP: str(),
          protocol: str({ enum: ["TCP", "UDP", "SCTP"], default: "TCP" }),
        },
        { required: ["containerPort"] },
      ),
      { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"] },
    ),
    env: list(
      obj(
        {
          name: str(),
          value: str(),
          valueFrom: obj({
            fieldRef: obj({ apiVersion: str(), fieldPath: str() }, { required: ["fieldPath"] }),
            resourceFieldRef: obj({ containerName: str(), resource: str(), divisor: intOrString }),
            configMapKeyRef: keyRef,
            secretKeyRef: keyRef,
          }),
        },
        { required: ["name"] },
      ),
    ),
    envFrom: list(
      obj({
        prefix: str(),
        configMapRef: obj({ name: str(), optional: bool }),
        secretRef: obj({ name: str(), optional: bool }),
      }),
    ),
    resources: obj({
      limits: quantities,
      requests: quantities,
      claims: list(obj({ name: str(), request: str() })),
    }),
    volumeMounts: list(
      obj(
        {
          name: str(),
          mountPath: str(),
          readOnly: bool,
          subPath: str(),
          subPathExpr: str(),
          mountPropagation: str(),
          recursiveReadOnly: str(),
        },
        { required: ["name", "mountPath"] },
      ),
    ),
    livenessProbe: probe,
    readinessProbe: probe,
    startupProbe: probe,
    lifecycle: obj({ postStart: handler, preStop: handler, stopSignal: str() }),
    securityContext,
    stdin: bool,
    stdinOnce: bool,
    tty: bool,
    terminationMessagePath: str(),
    terminationMessagePolicy: str({ enum: ["File", "FallbackToLogsOnError"] }),
  },
  { required: ["name"] },
);
const tlsConfig = obj({
  ca: obj({ secret: keyRef, configMap: keyRef }),
  cert: obj({ secret: keyRef, configMap: keyRef }),
  keySecret: keyRef,
  serverName: str(),
  insecureSkipVerify: bool,
  minVersion: str({ enum: ["TLS10", "TLS11", "TLS12", "TLS13"] }),
});
const relabel = obj({
  sourceLabels: list(str({ pattern: "^[a-zA-Z_][a-zA-Z0-9_]*$" })),
  separator: str(),
  regex: str(),
  modulus: { type: "integer", format: "int64" },
  targetLabel: str(),
  replacement: str(),
  action: str({
    enum: [
      "replace",
      "keep",
      "drop",
      "hashmod",
      "labelmap",
      "labeldrop",
      "labelkeep",
      "lowercase",
      "uppercase",
    ],
    default: "replace",
  }),
});
const remoteWrite = obj(
  {
    url: str({ minLength: 1 }),
    name: str(),
    remoteTimeout: str({ pattern: DURATION }),
    headers: stringMap,
    writeRelabelConfigs: list(relabel),
    basicAuth: obj({ username: keyRef, password: keyRef }),
    bearerTokenFile: str(),
    tlsConfig,
    proxyUrl: str({ pattern: "^(http|https|socks5)://.+$" }),
    queueConfig: obj({
      capacity: int(),
      minShards: int(),
      maxShards: int(),
      maxSamplesPerSend: int(),
      batchSendDeadline: str({ pattern: DURATION }),
      minBackoff: str({ pattern: DURATION }),
      maxBackoff: str({ pattern: DURATION }),
      retryOnRateLimit: bool,
    }),
    metadataConfig: obj({ send: bool, sendInterval: str({ pattern: DURATION }) }),
  },
  { required: ["url"] },
);
const condition = obj(
  {
    type: str(),
    status: str({ enum: ["True", "False", "Unknown"] }),
    lastTransitionTime: str({ format: "date-time" }),
    reason: str(),
    message: str(),
    observedGeneration: { type: "integer", format: "int64" },
  },
  { required: ["type", "status", "lastTransitionTime"] },
);

/** The schema of the large kind. */
export const LARGE_SCHEMA: SchemaProps = obj({
  // As controller-gen writes every CRD.
  apiVersion: str(),
  kind: str(),
  metadata: { type: "object" },
  spec: obj({
    replicas: int({ minimum: 0, default: 1 }),
    shards: int({ minimum: 1 }),
    version: str(),
    image: str(),
    imagePullSecrets: list(obj({ name: str() })),
    serviceAccountName: str(),
    retention: str({ pattern: DURATION }),
    retentionSize: str({ pattern: "(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$" }),
    scrapeInterval: str({ pattern: DURATION, default: "30s" }),
    scrapeTimeout: str({ pattern: DURATION }),
    evaluationInterval: str({ pattern: DURATION, default: "30s" }),
    externalLabels: stringMap,
    enableAdminAPI: bool,
    logLevel: str({ enum: ["", "debug", "info", "warn", "error"] }),
    logFormat: str({ enum: ["", "logfmt", "json"] }),
    paused: bool,
    podMetadata: obj({ name: str(), labels: stringMap, annotations: stringMap }),
    nodeSelector: stringMap,
    priorityClassName: str(),
    containers: list(container),
    initContainers: list(container),
    tolerations: list(
      obj({
        key: str(),
        operator: str({ enum: ["Exists", "Equal"] }),
        value: str(),
        effect: str({ enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] }),
        tolerationSeconds: { type: "integer", format: "int64" },
      }),
    ),
    resources: obj({ limits: quantities, requests: quantities }),
    securityContext: obj({
      runAsUser: { type: "integer", format: "int64" },
      runAsGroup: { type: "integer", format: "int64" },
      fsGroup: { type: "integer", format: "int64" },
      runAsNonRoot: bool,
      supplementalGroups: list({ type: "integer", format: "int64" }),
      seccompProfile: obj({ type: str(), localhostProfile: str() }),
    }),
    storage: obj({
      disableMountSubPath: bool,
      emptyDir: obj({ medium: str(), sizeLimit: intOrString }),
      volumeClaimTemplate: {
        type: "object",
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
      },
    }),
    volumes: list({ type: "object", "x-kubernetes-preserve-unknown-fields": true }),
    serviceMonitorSelector: selector,
    serviceMonitorNamespaceSelector: selector,
    podMonitorSelector: selector,
    ruleSelector: selector,
    remoteWrite: list(remoteWrite),
    alerting: obj({
      alertmanagers: list(
        obj(
          {
            namespace: str(),
            name: str(),
            port: intOrString,
            scheme: str(),
            pathPrefix: str(),
            timeout: str({ pattern: DURATION }),
            apiVersion: str({ enum: ["v1", "V1", "v2", "V2"] }),
            enableHttp2: bool,
            bearerTokenFile: str(),
            tlsConfig,
          },
          { required: ["name", "port"] },
        ),
      ),
    }),
    web: obj({
      pageTitle: str(),
      maxConnections: int({ minimum: 0 }),
      tlsConfig,
      httpConfig: obj({
        http2: bool,
        headers: obj({
          contentSecurityPolicy: str(),
          xFrameOptions: str({ enum: ["", "Deny", "SameOrigin"] }),
          xContentTypeOptions: str(),
          strictTransportSecurity: str(),
        }),
      }),
    }),
  }),
  status: obj({
    paused: bool,
    replicas: int(),
    updatedReplicas: int(),
    availableReplicas: int(),
    unavailableReplicas: int(),
    shards: int(),
    selector: str(),
    conditions: list(condition, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
  }),
});

/** How many properties the schema declares, at every level. */
export function countProperties(schema: SchemaProps = LARGE_SCHEMA): number {
  let n = Object.keys(schema.properties ?? {}).length;
  for (const sub of Object.values(schema.properties ?? {})) n += countProperties(sub);
  if (schema.items && !Array.isArray(schema.items)) n += countProperties(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object")
    n += countProperties(schema.additionalProperties);
  return n;
}

/** The CRD (kind Prometheus) in `group`. */
export function largeCRD(group: string) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `prometheuses.${group}` },
    spec: {
      group,
      scope: "Namespaced",
      names: {
        plural: "prometheuses",
        singular: "prometheus",
        kind: "Prometheus",
        listKind: "PrometheusList",
      },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: LARGE_SCHEMA },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: ".spec.shards",
              statusReplicasPath: ".status.shards",
              labelSelectorPath: ".status.selector",
            },
          },
          additionalPrinterColumns: [
            { name: "Version", type: "string", jsonPath: ".spec.version" },
            { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
            { name: "Ready", type: "integer", jsonPath: ".status.availableReplicas" },
            {
              name: "Reconciled",
              type: "string",
              jsonPath: '.status.conditions[?(@.type == "Reconciled")].status',
            },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
        },
      ],
    },
  };
}

function containerObject(i: number) {
  const probe = {
    httpGet: {
      path: "/-/healthy",
      port: "web",
      scheme: "HTTP",
      httpHeaders: [{ name: "X-Probe", value: "1" }],
    },
    initialDelaySeconds: 5,
    periodSeconds: 10,
    timeoutSeconds: 3,
    failureThreshold: 6,
  };
  return {
    name: `sidecar-${i}`,
    image: `quay.io/example/sidecar-${i}:v0.${i}.0`,
    imagePullPolicy: "IfNotPresent",
    args: [
      `--listen-address=:${9000 + i}`,
      "--log.level=info",
      `--reload-url=http://127.0.0.1:9090/-/reload`,
    ],
    ports: [
      { name: "web", containerPort: 9000 + i, protocol: "TCP" },
      { name: "grpc", containerPort: 10000 + i },
    ],
    env: [
      { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: "tokens", key: `token-${i}` } } },
      { name: "SHARD", value: String(i) },
    ],
    resources: { limits: { cpu: "200m", memory: "128Mi" }, requests: { cpu: 50, memory: "64Mi" } },
    volumeMounts: [
      { name: "config", mountPath: "/etc/prometheus/config", readOnly: true },
      { name: `data-${i}`, mountPath: `/data/${i}`, subPath: `shard-${i}` },
    ],
    livenessProbe: probe,
    readinessProbe: { ...probe, httpGet: { ...probe.httpGet, path: "/-/ready" } },
    lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 5"] } } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}

/** An object of the large kind (about 50 KB of JSON) that the schema accepts. */
export function largeObject(group: string, name: string, namespace: string) {
  return {
    apiVersion: `${group}/v1`,
    kind: "Prometheus",
    metadata: { name, namespace, labels: { app: "prometheus" } },
    spec: {
      replicas: 2,
      shards: 1,
      version: "v2.53.0",
      serviceAccountName: "prometheus",
      retention: "15d",
      retentionSize: "50GiB",
      scrapeInterval: "30s",
      externalLabels: { cluster: "edge", region: "eu" },
      logLevel: "info",
      podMetadata: { labels: { team: "observability" } },
      containers: Array.from({ length: 32 }, (_, i) => containerObject(i)),
      initContainers: [containerObject(99)],
      tolerations: [{ key: "dedicated", operator: "Equal", value: "monitoring", effect: "NoSchedule" }],
      securityContext: { runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000 },
      storage: {
        volumeClaimTemplate: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          spec: { resources: { requests: { storage: "10Gi" } } },
        },
      },
      serviceMonitorSelector: { matchExpressions: [{ key: "team", operator: "In", values: ["a", "b"] }] },
      remoteWrite: Array.from({ length: 4 }, (_, i) => ({
        url: `https://metrics-${i}.example.com/api/v1/write`,
        remoteTimeout: "30s",
        writeRelabelConfigs: [{ sourceLabels: ["__name__"], regex: "go_.*", action: "drop" }],
        basicAuth: { username: { name: "rw", key: "user" }, password: { name: "rw", key: "password" } },
        tlsConfig: {
          ca: { configMap: { name: "ca", key: "ca.crt" } },
          serverName: `metrics-${i}.example.com`,
        },
        queueConfig: { capacity: 10000, maxShards: 50, batchSendDeadline: "5s" },
      })),
      alerting: {
        alertmanagers: [{ namespace: "monitoring", name: "alertmanager", port: "web", apiVersion: "v2" }],
      },
    },
  };
}
