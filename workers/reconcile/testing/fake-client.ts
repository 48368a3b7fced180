/**
 * A recording, in-memory KubeClient for controller unit tests (client-go's
 * fake clientset idea): it keeps objects, answers reads, and records every
 * write in order so a test can assert the exact writes a reconcile made.
 * Only what controllers use is implemented; anything else throws loudly.
 */
import type { KubeClient, KubeObject, ObjectList, ResourceRef } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import { clone, matchesSelector, randomSuffix } from "../k8s.ts";
import type { Recorder } from "../types.ts";

/** One recorded write. */
export interface RecordedWrite {
  verb: "create" | "update" | "patch" | "delete";
  resource: string;
  namespace?: string;
  name: string;
  subresource?: string;
  body?: unknown;
}

function parseSelector(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    const [k, v] = part.split("=");
    if (v === undefined) throw new Error(`fake client: unsupported selector ${text}`);
    out[k.trim()] = v.trim();
  }
  return out;
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base =
    target && typeof target === "object" && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/** The fake client plus its recorded writes and a fake recorder's events. */
export class FakeClient implements KubeClient {
  readonly writes: RecordedWrite[] = [];
  readonly events: { reason: string; type: string; message: string; object: string }[] = [];
  private objects = new Map<string, KubeObject>();
  private rv = 1;
  private uids = 0;

  constructor(
    seed: { ref: ResourceRef; objects: KubeObject[] }[] = [],
    private readonly now: () => Date = () => new Date("2026-01-01T00:00:00Z"),
  ) {
    for (const { ref, objects } of seed) for (const o of objects) this.put(ref, clone(o));
  }

  /** A Recorder whose events land in `events`. */
  get recorder(): Recorder {
    return {
      event: async (object, type, reason, message) => {
        this.events.push({
          reason,
          type,
          message,
          object: `${object.metadata?.namespace}/${object.metadata?.name}`,
        });
      },
    };
  }

  /** Writes, optionally only those of one verb/resource; handy for exact-order assertions. */
  writesOf(resource?: string, verb?: RecordedWrite["verb"]): RecordedWrite[] {
    return this.writes.filter((w) => (!resource || w.resource === resource) && (!verb || w.verb === verb));
  }

  /** Every stored object of a resource. */
  all<T extends KubeObject = KubeObject>(ref: ResourceRef): T[] {
    const prefix = `${ref.group}/${ref.resource}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => clone(v) as T);
  }

  /** Seed or overwrite one object directly, without recording a write. */
  put(ref: ResourceRef, object: KubeObject): KubeObject {
    object.metadata ??= {};
    const meta = object.metadata;
    meta.uid ??= `uid-${++this.uids}`;
    meta.resourceVersion = String(++this.rv);
    meta.creationTimestamp ??= this.now()
      .toISOString()
      .replace(/\.\d+Z$/, "Z");
    this.objects.set(this.key(ref, meta.namespace, meta.name ?? ""), object);
    return object;
  }

  private key(ref: ResourceRef, namespace: string | undefined, name: string): string {
    return `${ref.group}/${ref.resource}/${ref.namespaced ? (namespace ?? "") : ""}/${name}`;
  }

  private find(ref: ResourceRef, namespace: string | undefined, name: string): KubeObject {
    const found = this.objects.get(this.key(ref, namespace, name));
    if (!found) throw errors.notFound(ref.resource, name, ref.group);
    return found;
  }

  async get<T extends KubeObject>(ref: ResourceRef, namespace: string | undefined, name: string): Promise<T> {
    return clone(this.find(ref, namespace, name)) as T;
  }

  async list<T extends KubeObject>(
    ref: ResourceRef,
    namespace?: string,
    options: { labelSelector?: string } = {},
  ): Promise<ObjectList<T>> {
    const selector = parseSelector(options.labelSelector);
    const items = this.all<T>(ref).filter(
      (o) =>
        (!namespace || o.metadata?.namespace === namespace) &&
        (!selector || matchesSelector({ matchLabels: selector }, o.metadata?.labels)),
    );
    return { apiVersion: "v1", kind: "List", metadata: { resourceVersion: String(this.rv) }, items };
  }

  async create<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    object: KubeObject,
    options: { name?: string; subresource?: string } = {},
  ): Promise<T> {
    if (options.subresource === "binding") {
      const pod = this.find(ref, namespace, options.name ?? "");
      this.writes.push({
        verb: "create",
        resource: ref.resource,
        namespace,
        name: options.name ?? "",
        subresource: "binding",
        body: clone(object),
      });
      const spec = pod.spec as Record<string, unknown>;
      if (spec.nodeName)
        throw errors.conflict(ref.resource, options.name ?? "", "pod is already assigned to a node");
      spec.nodeName = (object.target as { name: string }).name;
      this.put(ref, pod);
      return clone(object) as T;
    }
    if (options.subresource)
      throw new Error(`fake client: create subresource ${options.subresource} unsupported`);
    const copy = clone(object);
    copy.metadata ??= {};
    const meta = copy.metadata;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (ref.namespaced) meta.namespace = namespace;
    this.writes.push({
      verb: "create",
      resource: ref.resource,
      namespace,
      name: meta.name ?? "",
      body: clone(copy),
    });
    if (this.objects.has(this.key(ref, namespace, meta.name ?? ""))) {
      throw errors.alreadyExists(ref.resource, meta.name ?? "", ref.group);
    }
    if (meta.generation === undefined && ref.resource !== "pods") meta.generation = 1;
    return clone(this.put(ref, copy)) as T;
  }

  async update<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    object: KubeObject,
    options: { subresource?: string } = {},
  ): Promise<T> {
    const name = object.metadata?.name ?? "";
    this.writes.push({
      verb: "update",
      resource: ref.resource,
      namespace,
      name,
      subresource: options.subresource,
      body: clone(object),
    });
    const old = this.find(ref, namespace, name);
    const rv = object.metadata?.resourceVersion;
    if (rv && rv !== old.metadata?.resourceVersion) {
      throw errors.conflict(
        ref.resource,
        name,
        "the object has been modified; please apply your changes to the latest version and try again",
        ref.group,
      );
    }
    let next: KubeObject;
    if (options.subresource === "status") next = { ...clone(old), status: clone(object.status) };
    else if (options.subresource === "finalize") next = { ...clone(old), spec: clone(object.spec) };
    else if (options.subresource)
      throw new Error(`fake client: update subresource ${options.subresource} unsupported`);
    else next = { ...clone(object), status: clone(old.status) };
    next.metadata = {
      ...next.metadata,
      uid: old.metadata?.uid,
      creationTimestamp: old.metadata?.creationTimestamp,
    };
    if (!options.subresource && JSON.stringify(object.spec) !== JSON.stringify(old.spec)) {
      next.metadata.generation = (old.metadata?.generation ?? 1) + 1;
    } else next.metadata.generation = old.metadata?.generation;
    return clone(this.put(ref, next)) as T;
  }

  async patch<T extends KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    type: string,
    patch: unknown,
    options: { subresource?: string } = {},
  ): Promise<T> {
    this.writes.push({
      verb: "patch",
      resource: ref.resource,
      namespace,
      name,
      subresource: options.subresource,
      body: clone(patch),
    });
    if (type !== "merge") throw new Error(`fake client: ${type} patch unsupported`);
    const old = this.find(ref, namespace, name);
    const next = mergePatch(clone(old), patch) as KubeObject;
    if (JSON.stringify(next.spec) !== JSON.stringify(old.spec)) {
      next.metadata = { ...next.metadata, generation: (old.metadata?.generation ?? 1) + 1 };
    }
    const stored = this.put(ref, next);
    const meta = stored.metadata ?? {};
    // Like the API server: a deleting object whose last finalizer went away is gone.
    if (meta.deletionTimestamp && !(meta.finalizers ?? []).length)
      this.objects.delete(this.key(ref, namespace, name));
    return clone(stored) as T;
  }

  async delete(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    options: { propagationPolicy?: string; gracePeriodSeconds?: number } = {},
  ): Promise<KubeObject> {
    this.writes.push({ verb: "delete", resource: ref.resource, namespace, name, body: { ...options } });
    const old = this.find(ref, namespace, name);
    this.objects.delete(this.key(ref, namespace, name));
    return clone(old);
  }

  watch(): AsyncIterable<never> {
    throw new ApiError("MethodNotAllowed", "fake client: watch unsupported");
  }

  async request(): Promise<Response> {
    throw new ApiError("MethodNotAllowed", "fake client: raw request unsupported");
  }
}
