/**
 * The pod subresources that are not plain reads/writes of the pod:
 * binding (the scheduler's write), eviction (a delete that respects
 * disruption budgets: eviction.ts), and the
 * streaming ones (log, exec, attach, portforward), which delegate to
 * platform services when the API server provides them.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import { readJsonObject } from "../decode.ts";
import type { CustomSubresource, ResourceInfo, SubresourceRequest } from "../registry/types.ts";
import { eviction } from "./eviction.ts";
import { list, obj } from "./util.ts";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function podsInfo(req: SubresourceRequest): ResourceInfo {
  const info = req.registry.lookup("", "pods");
  if (!info) throw errors.internal("pods are not registered");
  return info;
}

/**
 * POST pods/NAME/binding: set spec.nodeName once and mark the pod scheduled.
 * As in kube, admission sees the Binding as a CREATE on pods/binding (webhooks
 * may patch its target) and the pod write that follows is not admitted again.
 */
const binding: CustomSubresource = {
  verbs: ["create"],
  kind: "Binding",
  async handle(req) {
    const body = await readJsonObject(req.request);
    const ctx = { ...req.ctx, subresource: "binding" };
    const pods = podsInfo(req);
    const meta = { ...obj(body.metadata), name: req.name, namespace: req.namespace };
    const bound: KubeObject = { ...body, apiVersion: "v1", kind: "Binding", metadata: meta };
    await req.registry.admitSubresourceCreate(pods, "Binding", bound, ctx, () => {
      const name = obj(bound.target).name;
      if (typeof name !== "string" || name === "")
        throw errors.invalid("Binding", req.name, [
          { reason: "FieldValueRequired", field: "target.name", message: "Required value" },
        ]);
    });
    const node = obj(bound.target).name as string;
    await req.registry.update(
      pods,
      req.namespace,
      req.name,
      // The registry hands over its own copy of the current object: change it in place.
      (pod) => {
        const spec = obj(pod.spec);
        if (pod.metadata?.deletionTimestamp)
          throw errors.conflict(
            "pods/binding",
            req.name,
            "pod is being deleted, cannot be assigned to a host",
          );
        if (spec.nodeName)
          throw errors.conflict(
            "pods/binding",
            req.name,
            `pod ${req.name} is already assigned to node "${spec.nodeName}"`,
          );
        pod.spec = { ...spec, nodeName: node };
        const status = obj(pod.status);
        const conds = list(status.conditions).filter((c) => c.type !== "PodScheduled");
        conds.push({
          type: "PodScheduled",
          status: "True",
          lastProbeTime: null,
          lastTransitionTime: timestamp(req.ctx.now),
        });
        pod.status = { ...status, conditions: conds };
        return pod;
      },
      ctx,
      { manager: "", target: "raw", managedFields: false, admission: false },
    );
    return json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 }, 201);
  },
};

function containerFor(pod: KubeObject, requested: string | null): string {
  const names = list(obj(pod.spec).containers).map((c) => c.name as string);
  const all = [...names, ...list(obj(pod.spec).initContainers).map((c) => c.name as string)];
  if (requested) {
    if (!all.includes(requested))
      throw errors.badRequest(`container ${requested} is not valid for pod ${pod.metadata?.name}`);
    return requested;
  }
  if (names.length === 1) return names[0];
  throw errors.badRequest(
    `a container name must be specified for pod ${pod.metadata?.name}, choose one of: [${names.join(" ")}]`,
  );
}

/** GET pods/NAME/log: the container's log through `services.podLogs`. */
const log: CustomSubresource = {
  verbs: ["get"],
  kind: "Pod",
  async handle(req) {
    const pod = await req.registry.get(podsInfo(req), req.namespace, req.name);
    const query = new URL(req.request.url).searchParams;
    const container = containerFor(pod, query.get("container"));
    if (!obj(pod.spec).nodeName)
      throw errors.badRequest(
        `container "${container}" in pod "${req.name}" is waiting to start: pod is not scheduled yet`,
      );
    const podLogs = req.services.podLogs;
    if (!podLogs)
      throw new ApiError(
        "ServiceUnavailable",
        `logs for pod "${req.name}" are not available: this API server has no connection to node agents for log streaming`,
      );
    return podLogs({
      namespace: req.namespace ?? "",
      name: req.name,
      pod,
      container,
      query,
      request: req.request,
    });
  },
};

/** The options object kube decodes from a streaming request's query, which CONNECT admission is shown. */
function connectOptions(kind: "exec" | "attach" | "portforward", query: URLSearchParams): KubeObject {
  const flag = (key: string) =>
    query.has(key) ? { [key]: query.get(key) === "true" || query.get(key) === "1" } : {};
  if (kind === "portforward")
    return { kind: "PodPortForwardOptions", apiVersion: "v1", ports: query.getAll("ports").map(Number) };
  const container = query.get("container");
  return {
    kind: kind === "exec" ? "PodExecOptions" : "PodAttachOptions",
    apiVersion: "v1",
    ...flag("stdin"),
    ...flag("stdout"),
    ...flag("stderr"),
    ...flag("tty"),
    ...(container ? { container } : {}),
    ...(kind === "exec" ? { command: query.getAll("command") } : {}),
  };
}

/** What an old, SPDY-only kubectl is told to use instead, per subresource. */
const WEBSOCKET_ADVICE = {
  exec: "kubectl 1.30 or newer, or kubectl 1.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true",
  attach: "kubectl 1.30 or newer, or kubectl 1.29 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=true",
  portforward: "kubectl 1.31 or newer, or kubectl 1.30 with KUBECTL_PORT_FORWARD_WEBSOCKETS=true",
};

/**
 * exec, attach and portforward: WebSocket upgrades served by `services.podExec`.
 * Every check (pod, container, scheduled, node connected; authorization ran
 * before) comes first, so a SPDY-only client learns about a real problem
 * rather than only about its protocol; then SPDY gets one clear 400.
 */
function streaming(kind: "exec" | "attach" | "portforward"): CustomSubresource {
  const optionsKind =
    kind === "portforward"
      ? "PodPortForwardOptions"
      : kind === "exec"
        ? "PodExecOptions"
        : "PodAttachOptions";
  return {
    verbs: ["create", "get"],
    kind: optionsKind,
    async handle(req) {
      const pod = await req.registry.get(podsInfo(req), req.namespace, req.name);
      if (kind !== "portforward") containerFor(pod, new URL(req.request.url).searchParams.get("container"));
      const node = obj(pod.spec).nodeName;
      if (typeof node !== "string" || node === "")
        throw errors.badRequest(`pod ${req.name} does not have a host assigned`);
      if (req.services.nodeConnected && !(await req.services.nodeConnected(node)))
        throw new ApiError(
          "ServiceUnavailable",
          `node "${node}" of pod "${req.name}" is not connected: cannot stream ${kind}`,
        );
      const upgrade = (req.request.headers.get("Upgrade") ?? "").toLowerCase();
      if (upgrade.startsWith("spdy"))
        throw errors.badRequest(
          `pods/${kind} over SPDY is not supported by this API server, only over WebSocket: use ${WEBSOCKET_ADVICE[kind]}`,
        );
      const options = connectOptions(kind, new URL(req.request.url).searchParams);
      const ctx = { ...req.ctx, subresource: kind };
      await req.registry.admitConnect(podsInfo(req), optionsKind, options, req.namespace, req.name, ctx);
      const podExec = req.services.podExec;
      if (!podExec)
        throw new ApiError(
          "ServiceUnavailable",
          `pods/${kind} is not available yet: this API server does not stream ${kind} sessions (WebSocket or SPDY) to node agents`,
        );
      return podExec({ kind, namespace: req.namespace ?? "", name: req.name, pod, request: req.request });
    },
  };
}

/** The pods' custom subresources, by name. */
export const podSubresources: Record<string, CustomSubresource> = {
  binding,
  eviction,
  log,
  exec: streaming("exec"),
  attach: streaming("attach"),
  portforward: streaming("portforward"),
};
