/**
 * OpenAPI v3 for the served kinds, generated from the resource table and the
 * build-time schemas (schemas.generated.json): the /openapi/v3 index, one
 * document per group/version (what `kubectl explain` and kubectl's
 * server-side field validation detection read), and the unknown-field check
 * behind fieldValidation=Strict.
 */
import type { ResourceInfo } from "../registry/types.ts";
import { resourcePaths } from "./paths.ts";
import { MODELS, modelSchema, SCHEMA_HASH, SCHEMA_SOURCE, type Schema, SPECIAL_SCHEMAS } from "./schemas.ts";
import { unknownFields } from "./unknown.ts";

export { unknownFields } from "./unknown.ts";

/** Models every document carries besides its kinds (delete bodies, Status responses). */
const COMMON_MODELS = ["V1Status", "V1DeleteOptions"];
/** GVKs of the non-kind models that requests carry. */
const EXTRA_GVKS: Record<string, { group: string; version: string; kind: string }> = {
  V1Scale: { group: "autoscaling", version: "v1", kind: "Scale" },
  V1Eviction: { group: "policy", version: "v1", kind: "Eviction" },
  V1Binding: { group: "", version: "v1", kind: "Binding" },
  V1Status: { group: "", version: "v1", kind: "Status" },
  V1DeleteOptions: { group: "", version: "v1", kind: "DeleteOptions" },
};

/** "api/v1" or "apis/<group>/<version>": the key of a group/version in the /openapi/v3 index. */
function groupVersionPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

function buildDocument(group: string, version: string, resources: ResourceInfo[]): Schema | undefined {
  const served = resources.filter((r) => r.group === group && r.version === version);
  if (served.length === 0) return undefined;
  const gvks = new Map<string, { group: string; version: string; kind: string }[]>();
  for (const r of served) {
    const list = gvks.get(r.model) ?? [];
    list.push({ group: r.group, version: r.version, kind: r.kind });
    gvks.set(r.model, list);
  }
  const paths: Record<string, Schema> = {};
  for (const r of served) Object.assign(paths, resourcePaths(r));
  // Every model the paths and kinds reference, transitively.
  const pending = new Set<string>([...served.map((r) => r.model), ...COMMON_MODELS]);
  for (const r of served) {
    if (r.subresources?.scale) pending.add("V1Scale");
    for (const c of Object.values(r.subresources?.custom ?? {}))
      for (const m of [`V1${c.kind}`, `CoreV1${c.kind}`]) if (MODELS[m]) pending.add(m);
  }
  const schemas: Record<string, Schema> = { ...SPECIAL_SCHEMAS };
  // Custom resources bring their own schema (crd/openapi.ts), which refers to ObjectMeta.
  for (const r of served)
    if (r.customResource) {
      schemas[r.model] = r.customResource.openapi;
      pending.add("V1ObjectMeta");
    }
  const done = new Set<string>();
  while (pending.size) {
    const [model] = pending;
    pending.delete(model);
    if (done.has(model) || !MODELS[model]) continue;
    done.add(model);
    const refs = new Set<string>();
    const schema = modelSchema(model, refs);
    const gvk = gvks.get(model) ?? (EXTRA_GVKS[model] ? [EXTRA_GVKS[model]] : undefined);
    if (gvk) schema["x-kubernetes-group-version-kind"] = gvk;
    schemas[MODELS[model].name] = schema;
    for (const r of refs) if (!done.has(r)) pending.add(r);
  }
  const sorted = Object.fromEntries(
    Object.keys(schemas)
      .sort()
      .map((k) => [k, schemas[k]]),
  );
  return {
    openapi: "3.0.0",
    info: {
      title: "Kubernetes",
      version: "v1.32.0",
      description: `Edgeplane; schemas from ${SCHEMA_SOURCE}`,
    },
    paths,
    components: {
      schemas: sorted,
      securitySchemes: {
        BearerToken: {
          type: "apiKey",
          description: "Bearer Token authentication",
          name: "authorization",
          in: "header",
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

/**
 * Bump when paths.ts or schemas.ts change the documents' shape: the ?hash=
 * must change whenever a document does, because kubectl caches documents by URL.
 */
const DOCUMENT_FORMAT = 2;

/** 64-bit FNV-1a as 16 hex digits. */
function hashOf(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++)
    h = BigInt.asUintN(64, (h ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return h.toString(16).toUpperCase().padStart(16, "0");
}

/**
 * The ?hash= of a group/version's document, from what the document is a pure
 * function of (format, generated schemas, the rows served there), so the
 * index never has to build the documents themselves.
 */
function documentHash(group: string, version: string, resources: ResourceInfo[]): string {
  const rows = resources
    .filter((r) => r.group === group && r.version === version)
    .map((r) => [
      r.resource,
      r.kind,
      r.model,
      r.namespaced,
      !!r.subresources?.status,
      !!r.subresources?.scale,
      Object.entries(r.subresources?.custom ?? {}).map(([n, c]) => [n, c.kind, c.group, c.version, c.verbs]),
      r.customResource?.hash,
    ]);
  return hashOf(JSON.stringify([DOCUMENT_FORMAT, SCHEMA_HASH, rows]));
}

/** Documents are a pure function of the table: build each once per table (a new one whenever the CRDs change), when first asked for. */
const cache = new WeakMap<ResourceInfo[], Map<string, Schema | undefined>>();

/** The /openapi/v3 index: `{"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}`. */
export function openapiV3Paths(resources: ResourceInfo[]): {
  paths: Record<string, { serverRelativeURL: string }>;
} {
  const gvs = new Map<string, [string, string]>();
  for (const r of resources) gvs.set(groupVersionPath(r.group, r.version), [r.group, r.version]);
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const key of [...gvs.keys()].sort()) {
    const [group, version] = gvs.get(key) as [string, string];
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documentHash(group, version, resources)}` };
  }
  return { paths };
}

/** The OpenAPI v3 document for one group/version ("" = core), or undefined when nothing is served there. */
export function openapiV3Document(
  group: string,
  version: string,
  resources: ResourceInfo[],
): Schema | undefined {
  let documents = cache.get(resources);
  if (!documents) {
    documents = new Map();
    cache.set(resources, documents);
  }
  const key = groupVersionPath(group, version);
  if (!documents.has(key)) documents.set(key, buildDocument(group, version, resources));
  return documents.get(key);
}

/** The three schema services in the shape the API server's SchemaServices expects. */
export const schemaServices = {
  unknownFields: (model: string, object: unknown) => ({ unknown: unknownFields(model, object) }),
  openapiV3Paths,
  openapiV3Document,
};
