/**
 * The push endpoint: POST /edgeplane/v1/metrics/<node> with a NodeSample
 * (workers/client/metrics-sample.ts) as JSON. Only that node's own identity
 * (or an admin) may report for it, the tunnel's rule (workers/tunnel/connect.ts).
 * The sample is checked field by field, then kept by the MetricsObject
 * (not the Kubernetes store: docs/metrics.md).
 */
import { authenticate } from "../apiserver/auth.ts";
import type { NodeSample, PodSample, UsagePoint } from "../client/metrics-sample.ts";
import { ApiError } from "../client/status.ts";
import { tryDecodeURIComponent } from "../client/uri.ts";
import type { Env } from "../env.ts";
import { mayConnect } from "../tunnel/connect.ts";
import { metricsStub } from "./service.ts";

/** The path prefix this endpoint serves. */
export const METRICS_PUSH_PREFIX = "/edgeplane/v1/metrics/";

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
/** A sample of a node at its pod limit is a few tens of KiB; anything past this is not a sample. */
const MAX_BODY_BYTES = 1 << 20;
const MAX_PODS = 1000;
const MAX_CONTAINERS = 100;

function bad(message: string): never {
  throw new ApiError("BadRequest", `invalid metrics sample: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function usage(v: unknown, where: string): UsagePoint {
  if (!isObject(v)) bad(`${where} must be an object`);
  const { cpuNanoCores, memoryBytes } = v;
  for (const [k, n] of [
    ["cpuNanoCores", cpuNanoCores],
    ["memoryBytes", memoryBytes],
  ] as const)
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
      bad(`${where}.${k} must be a non-negative integer`);
  return { cpuNanoCores: cpuNanoCores as number, memoryBytes: memoryBytes as number };
}

function text(v: unknown, where: string): string {
  if (typeof v !== "string" || v.length === 0 || v.length > 253) bad(`${where} must be a name`);
  return v;
}

/** The sample in `body`, checked (throws a 400 Status naming the first bad field). */
function parseSample(body: unknown): NodeSample {
  if (!isObject(body)) bad("the body must be a JSON object");
  const { timestamp, windowSeconds, node, pods } = body;
  if (typeof timestamp !== "string" || Number.isNaN(Date.parse(timestamp))) bad("timestamp must be RFC 3339");
  if (typeof windowSeconds !== "number" || !(windowSeconds > 0) || windowSeconds > 3600)
    bad("windowSeconds must be in (0, 3600]");
  if (!Array.isArray(pods) || pods.length > MAX_PODS) bad(`pods must be a list of at most ${MAX_PODS}`);
  return {
    timestamp: new Date(timestamp).toISOString(),
    windowSeconds,
    node: usage(node, "node"),
    pods: pods.map((p, i): PodSample => {
      if (!isObject(p)) bad(`pods[${i}] must be an object`);
      const containers = p.containers;
      if (!Array.isArray(containers) || containers.length > MAX_CONTAINERS)
        bad(`pods[${i}].containers must be a list of at most ${MAX_CONTAINERS}`);
      return {
        namespace: text(p.namespace, `pods[${i}].namespace`),
        name: text(p.name, `pods[${i}].name`),
        uid: text(p.uid, `pods[${i}].uid`),
        containers: containers.map((c, j) => {
          const where = `pods[${i}].containers[${j}]`;
          if (!isObject(c)) bad(`${where} must be an object`);
          return { name: text(c.name, `${where}.name`), ...usage(c, where) };
        }),
      };
    }),
  };
}

/** Serve a push. */
export async function handleMetricsPush(request: Request, env: Env): Promise<Response> {
  try {
    const path = new URL(request.url).pathname;
    const node = tryDecodeURIComponent(path.slice(METRICS_PUSH_PREFIX.length)) ?? "";
    if (!NODE_NAME.test(node)) throw new ApiError("BadRequest", `invalid node name ${JSON.stringify(node)}`);
    const user = await authenticate(request, env);
    if (!user) throw new ApiError("Unauthorized", "Unauthorized");
    if (!mayConnect(user, node))
      throw new ApiError("Forbidden", `User "${user.name}" cannot report metrics for node "${node}"`);
    if (request.method !== "POST")
      throw new ApiError("MethodNotAllowed", "the metrics endpoint takes POST only");
    if (Number(request.headers.get("Content-Length") ?? 0) > MAX_BODY_BYTES)
      throw new ApiError("RequestEntityTooLarge", "metrics sample too large");
    const raw = await request.arrayBuffer();
    if (raw.byteLength > MAX_BODY_BYTES)
      throw new ApiError("RequestEntityTooLarge", "metrics sample too large");
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new ApiError("BadRequest", "invalid metrics sample: the body is not JSON");
    }
    const sample = parseSample(body);
    await metricsStub(env).put({ ...sample, nodeName: node, receivedAt: Date.now() });
    return new Response(null, { status: 204 });
  } catch (error) {
    if (error instanceof ApiError) return error.toResponse();
    throw error;
  }
}
