/**
 * The MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins as one
 * admission plugin: `admit` calls the matching mutating webhooks one by one
 * (configurations in name order, webhooks in list order) and applies their
 * JSON patches, so the object's own validation then checks the result;
 * `validate` calls the matching validating webhooks in parallel and refuses
 * with the first denial; deletes reach the validating webhooks only
 * (kube runs no mutating admission on DELETE), with `object` null and the
 * stored object as `oldObject`. The configurations come from the isolate's
 * cache (cache.ts) when one is given, else from the registry on every write.
 */
import jsonpatch from "fast-json-patch";
import type { KubeObject } from "../../../client/kube.ts";
import { ApiError } from "../../../client/status.ts";
import { collectionPrefix, toResourceVersion } from "../../registry/keys.ts";
import type { Registry } from "../../registry/registry.ts";
import type { AdmissionAttributes, AdmissionPlugin, Operation } from "../chain.ts";
import { ADMISSION_GROUP, type ConfigResource, type ConfigSource, type WebhookConfigCache } from "./cache.ts";
import { evaluateConditions } from "./conditions.ts";
import {
  isExempt,
  type MatchAttributes,
  namespaceSelectorMatches,
  objectSelectorMatches,
  rulesMatch,
} from "./match.ts";
import { CallError, callWebhook, denial, type ReviewRequest, type WebhookFetch } from "./review.ts";
import type { WebhookSpec } from "./validation.ts";

/** What the plugin needs: the fetch to reach webhooks with, and the isolate's configuration cache if any. */
export interface WebhookAdmissionOptions {
  fetch: WebhookFetch;
  /** Without one, every write lists both configuration collections. */
  cache?: WebhookConfigCache;
}

/** The admission webhook plugin (mutating in admit, validating in validate). */
export function webhookAdmission(options: WebhookAdmissionOptions): AdmissionPlugin {
  return {
    name: "AdmissionWebhook",
    admit: (attrs) => mutate(options, attrs),
    validate: (attrs) => validate(options, attrs),
    validateDelete: (attrs) => validate(options, attrs),
    // kube also calls mutating webhooks on CONNECT; the options are not patched here (docs/apiserver.md).
    validateConnect: (attrs) => validate(options, attrs),
  };
}

/** Any operation's attributes (the validating webhooks see deletes too). */
type Attributes = AdmissionAttributes<Operation>;

/** The object a request is about: the new one, for a delete the stored one, for a connect the pod's name. */
function subject(attrs: Attributes): KubeObject {
  if (attrs.operation === "CONNECT") return { metadata: { name: attrs.name, namespace: attrs.namespace } };
  return attrs.object ?? attrs.old;
}

/** The matched fields of a write. */
function matchAttributes(attrs: Attributes): MatchAttributes {
  const { info } = attrs;
  return {
    operation: attrs.operation,
    group: info.group,
    version: info.version,
    resource: info.resource,
    subresource: attrs.ctx.subresource ?? (attrs.target === "status" ? "status" : ""),
    namespaced: info.namespaced,
  };
}

/** A ConfigSource over the registry: the two collections and their store revisions. */
function registrySource(registry: Registry): ConfigSource {
  return {
    async list(resource) {
      const info = registry.lookup(ADMISSION_GROUP, resource);
      if (!info) return { items: [], revision: "0" };
      const page = await registry.list(info, undefined);
      return { items: page.items, revision: page.resourceVersion };
    },
    async revision(resource) {
      const info = registry.lookup(ADMISSION_GROUP, resource);
      if (!info) return "0";
      const { current } = await registry.store.revisions(collectionPrefix(info));
      return toResourceVersion(current);
    },
  };
}

/** Every webhook of the given configuration kind, configurations in name order. */
async function webhooksOf(
  options: WebhookAdmissionOptions,
  attrs: Attributes,
  resource: ConfigResource,
): Promise<WebhookSpec[]> {
  const source = registrySource(attrs.registry);
  const items = options.cache
    ? await options.cache.get(source, resource)
    : (await source.list(resource)).items;
  return (
    [...items]
      // Byte order, as kube sorts configurations by name (not the locale's order).
      .sort((a, b) => ((a.metadata?.name ?? "") < (b.metadata?.name ?? "") ? -1 : 1))
      .flatMap((config) => (Array.isArray(config.webhooks) ? (config.webhooks as WebhookSpec[]) : []))
  );
}

/** The webhooks of one kind that this write reaches. */
async function matching(
  options: WebhookAdmissionOptions,
  attrs: Attributes,
  resource: ConfigResource,
): Promise<WebhookSpec[]> {
  if (isExempt(attrs.info.group, attrs.info.resource)) return [];
  const hooks = await webhooksOf(options, attrs, resource);
  if (!hooks.length) return [];
  const match = matchAttributes(attrs);
  const served = (group: string, res: string) =>
    attrs.registry.resources.filter((r) => r.group === group && r.resource === res).map((r) => r.version);
  // objectSelector and matchConditions are checked per call, on the object as earlier webhooks patched it.
  const byRules = hooks.filter((h) => rulesMatch(h, match, served));
  if (!byRules.length) return [];
  const nsLabels = await namespaceLabels(attrs);
  return byRules.filter((h) => namespaceSelectorMatches(h, nsLabels));
}

/** The labels namespaceSelector is evaluated on: the object's namespace, or a Namespace itself; undefined for other cluster-scoped objects. */
async function namespaceLabels(attrs: Attributes): Promise<Record<string, string> | undefined> {
  const { info } = attrs;
  const object = subject(attrs);
  if (info.group === "" && info.resource === "namespaces") return object.metadata?.labels ?? {};
  if (!info.namespaced) return undefined;
  const name = object.metadata?.namespace;
  if (!attrs.registry.lookup("", "namespaces") || !name) return {};
  const ns = await attrs.registry.namespace(name, attrs.ctx);
  return ns?.metadata?.labels ?? {};
}

/** The AdmissionReview request for this write. */
function reviewRequest(attrs: Attributes, match: MatchAttributes): ReviewRequest {
  const { info, ctx } = attrs;
  const object = subject(attrs);
  const kind = { group: info.group, version: info.version, kind: info.kind };
  const resource = { group: info.group, version: info.version, resource: info.resource };
  const request: ReviewRequest = {
    uid: crypto.randomUUID(),
    kind,
    resource,
    requestKind: kind,
    requestResource: resource,
    name: object.metadata?.name,
    operation: match.operation,
    userInfo: { username: ctx.user, groups: ctx.groups },
    // kube sends `"object": null` for a delete (a nil RawExtension).
    object: attrs.object ?? null,
    dryRun: ctx.dryRun,
    options:
      attrs.operation === "DELETE"
        ? attrs.options
        : attrs.operation === "CONNECT"
          ? undefined
          : {
              apiVersion: "meta.k8s.io/v1",
              kind: attrs.operation === "CREATE" ? "CreateOptions" : "UpdateOptions",
              ...(ctx.dryRun ? { dryRun: ["All"] } : {}),
            },
  };
  if (match.subresource) {
    request.subResource = match.subresource;
    request.requestSubResource = match.subresource;
  }
  if (info.namespaced) request.namespace = object.metadata?.namespace;
  if (attrs.old) request.oldObject = attrs.old;
  return request;
}

/**
 * Call one webhook, or skip it as kube does: its objectSelector and
 * matchConditions decide on the object as it is now (an evaluation error is
 * a 403 under Fail), a dry run never reaches a webhook with side effects
 * (the request is refused instead), and a call failure is ignored under
 * failurePolicy Ignore and is a 500 under Fail.
 */
async function call(
  fetch: WebhookFetch,
  hook: WebhookSpec,
  attrs: Attributes,
  mutating: boolean,
): Promise<Awaited<ReturnType<typeof callWebhook>> | undefined> {
  const labels = (o: KubeObject | undefined) => (o ? (o.metadata?.labels ?? {}) : undefined);
  if (!objectSelectorMatches(hook, labels(attrs.object), labels(attrs.old))) return undefined;
  const request = reviewRequest(attrs, matchAttributes(attrs));
  const conditions = evaluateConditions(hook, request);
  if ("error" in conditions) {
    const { info } = attrs;
    const resource = info.group ? `${info.resource}.${info.group}` : info.resource;
    const name = subject(attrs).metadata?.name ?? "";
    throw new ApiError("Forbidden", `${resource} "${name}" is forbidden: ${conditions.error}`, {
      name,
      group: info.group,
      kind: info.resource,
    });
  }
  if (!conditions.matches) return undefined;
  if (attrs.ctx.dryRun && hook.sideEffects !== "None" && hook.sideEffects !== "NoneOnDryRun")
    throw new ApiError("BadRequest", `admission webhook "${hook.name}" does not support dry run`);
  try {
    const result = await callWebhook(fetch, hook, request, mutating);
    attrs.ctx.warnings?.push(...result.warnings);
    return result;
  } catch (error) {
    if (!(error instanceof CallError)) throw error;
    if (hook.failurePolicy === "Ignore") return undefined;
    throw new ApiError("InternalError", `Internal error occurred: ${error.message}`);
  }
}

/** Mutating webhooks, in order; IfNeeded webhooks are called once more when a later one changed the object. */
async function mutate(options: WebhookAdmissionOptions, attrs: AdmissionAttributes): Promise<void> {
  const { fetch } = options;
  const hooks = await matching(options, attrs, "mutatingwebhookconfigurations");
  if (!hooks.length) return;
  const seen = new Map<WebhookSpec, string>();
  for (const hook of hooks) {
    await mutateOnce(fetch, hook, attrs);
    seen.set(hook, JSON.stringify(attrs.object));
  }
  const now = JSON.stringify(attrs.object);
  for (const hook of hooks)
    if (hook.reinvocationPolicy === "IfNeeded" && seen.get(hook) !== now)
      await mutateOnce(fetch, hook, attrs);
}

async function mutateOnce(fetch: WebhookFetch, hook: WebhookSpec, attrs: AdmissionAttributes): Promise<void> {
  const result = await call(fetch, hook, attrs, true);
  if (!result) return;
  if (!result.allowed) throw denial(hook.name, result.status);
  if (result.patch) applyTo(hook.name, attrs.object, result.patch);
}

/** Apply a webhook's patch in place; the object's identity (kind, name, namespace, uid) is not the webhook's to change. */
function applyTo(webhook: string, object: KubeObject, patch: unknown[]): void {
  let patched: KubeObject;
  try {
    patched = jsonpatch.applyPatch(structuredClone(object), patch as never, true, false)
      .newDocument as KubeObject;
  } catch (error) {
    throw new ApiError(
      "InternalError",
      `Internal error occurred: admission webhook "${webhook}" returned a patch that does not apply: ${(error as Error).message}`,
    );
  }
  const { apiVersion, kind } = object;
  const { name, namespace, uid, creationTimestamp } = object.metadata ?? {};
  for (const key of Object.keys(object)) delete object[key];
  Object.assign(object, patched, { apiVersion, kind });
  object.metadata ??= {};
  Object.assign(object.metadata, { name, namespace, uid, creationTimestamp });
  for (const key of ["namespace", "uid", "creationTimestamp"] as const)
    if (object.metadata[key] === undefined) delete object.metadata[key];
}

/** Validating webhooks, all at once; the first denial or failure (in webhook order) refuses the write. */
async function validate(options: WebhookAdmissionOptions, attrs: Attributes): Promise<void> {
  const { fetch } = options;
  const hooks = await matching(options, attrs, "validatingwebhookconfigurations");
  if (!hooks.length) return;
  const outcomes = await Promise.allSettled(hooks.map((hook) => call(fetch, hook, attrs, false)));
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "rejected") throw outcome.reason;
    if (outcome.value && !outcome.value.allowed) throw denial(hooks[i].name, outcome.value.status);
  });
}
