/**
 * OpenAPI v3 path items for one resource, generated from its table row.
 * kubectl reads two things from them: a PATCH operation carrying
 * x-kubernetes-group-version-kind and a `fieldValidation` query parameter
 * means the server validates fields itself (kubectl then sends
 * fieldValidation=Strict).
 */
import type { ResourceInfo } from "../registry/types.ts";
import { MODELS, PATCH_SCHEMA, ref, type Schema } from "./schemas.ts";

const STATUS = "V1Status";
const DELETE_OPTIONS = "V1DeleteOptions";

function param(name: string, where: "query" | "path", description: string, type = "string"): Schema {
  const p: Schema = { name, in: where, description, schema: { type, uniqueItems: true } };
  if (where === "path") p.required = true;
  return p;
}

const DRY_RUN = param(
  "dryRun",
  "query",
  "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
);
const FIELD_MANAGER = param(
  "fieldManager",
  "query",
  "fieldManager is a name associated with the actor or entity that is making these changes.",
);
const FIELD_VALIDATION = param(
  "fieldValidation",
  "query",
  "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
);
const FORCE = param(
  "force",
  "query",
  'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people.',
  "boolean",
);
const LIST_PARAMS = [
  param(
    "labelSelector",
    "query",
    "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
  ),
  param(
    "fieldSelector",
    "query",
    "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
  ),
  param("limit", "query", "limit is a maximum number of responses to return for a list call.", "integer"),
  param(
    "continue",
    "query",
    "The continue option should be set when retrieving more results from the server.",
  ),
  param(
    "resourceVersion",
    "query",
    "resourceVersion sets a constraint on what resource versions a request may be served from.",
  ),
  param(
    "resourceVersionMatch",
    "query",
    "resourceVersionMatch determines how resourceVersion is applied to list calls.",
  ),
  param(
    "watch",
    "query",
    "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
    "boolean",
  ),
  param(
    "allowWatchBookmarks",
    "query",
    'allowWatchBookmarks requests watch events with type "BOOKMARK".',
    "boolean",
  ),
  param("timeoutSeconds", "query", "Timeout for the list/watch call.", "integer"),
];

function modelRef(model: string): Schema {
  return ref(MODELS[model]?.name ?? model);
}

function json(schema: Schema): Schema {
  return { "application/json": { schema }, "application/yaml": { schema } };
}

function op(
  action: string,
  id: string,
  info: ResourceInfo,
  gvk: { group: string; version: string; kind: string },
  body: Schema | undefined,
  response: Schema,
  parameters: Schema[] = [],
): Schema {
  const o: Schema = {
    tags: [`${info.group || "core"}_${info.version}`],
    description: `${action} ${id}`,
    operationId: `${action}${id}`,
    parameters,
    responses: {
      "200": { description: "OK", content: json(response) },
      "401": { description: "Unauthorized" },
    },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
  };
  if (body) o.requestBody = { content: body, required: true };
  return o;
}

/**
 * The PATCH body types. Custom resources take no strategic merge patch (415), and kubectl reads this list:
 * where it names strategic merge patch, client-side apply sends one (kubectl 1.33).
 */
function patchBody(strategic = true): Schema {
  const schema = ref(PATCH_SCHEMA);
  return Object.fromEntries(
    [
      "application/apply-patch+yaml",
      "application/json-patch+json",
      "application/merge-patch+json",
      ...(strategic ? ["application/strategic-merge-patch+json"] : []),
    ].map((t) => [t, { schema }]),
  );
}

/** The path items of one resource (collection, item, all-namespaces list, status, scale, custom subresources). */
export function resourcePaths(info: ResourceInfo): Record<string, Schema> {
  const base = info.group === "" ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const collection = info.namespaced
    ? `${base}/namespaces/{namespace}/${info.resource}`
    : `${base}/${info.resource}`;
  const item = `${collection}/{name}`;
  const gvk = { group: info.group, version: info.version, kind: info.kind };
  const kind = `${info.kind}`;
  const self = modelRef(info.model);
  const pathParams = [
    ...(info.namespaced
      ? [param("namespace", "path", "object name and auth scope, such as for teams and projects")]
      : []),
  ];
  const nameParam = param("name", "path", `name of the ${info.kind}`);
  const writeParams = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const out: Record<string, Schema> = {};
  out[collection] = {
    parameters: pathParams,
    get: op("list", kind, info, gvk, undefined, { type: "object" }, LIST_PARAMS),
    post: op("create", kind, info, gvk, json(self), self, writeParams),
    delete: op(
      "deletecollection",
      kind,
      info,
      gvk,
      json(modelRef(DELETE_OPTIONS)),
      modelRef(STATUS),
      LIST_PARAMS,
    ),
  };
  out[item] = {
    parameters: [nameParam, ...pathParams],
    get: op("get", kind, info, gvk, undefined, self),
    put: op("put", kind, info, gvk, json(self), self, writeParams),
    patch: op("patch", kind, info, gvk, patchBody(!info.customResource), self, [...writeParams, FORCE]),
    delete: op("delete", kind, info, gvk, json(modelRef(DELETE_OPTIONS)), modelRef(STATUS), [DRY_RUN]),
  };
  if (info.namespaced)
    out[`${base}/${info.resource}`] = {
      get: op("list", `${kind}ForAllNamespaces`, info, gvk, undefined, { type: "object" }, LIST_PARAMS),
    };
  const sub = info.subresources ?? {};
  if (sub.status) {
    out[`${item}/status`] = {
      parameters: [nameParam, ...pathParams],
      get: op("get", `${kind}Status`, info, gvk, undefined, self),
      put: op("put", `${kind}Status`, info, gvk, json(self), self, writeParams),
      patch: op("patch", `${kind}Status`, info, gvk, patchBody(!info.customResource), self, [
        ...writeParams,
        FORCE,
      ]),
    };
  }
  if (sub.scale) {
    const scale = modelRef("V1Scale");
    const scaleGvk = { group: "autoscaling", version: "v1", kind: "Scale" };
    out[`${item}/scale`] = {
      parameters: [nameParam, ...pathParams],
      get: op("get", `${kind}Scale`, info, scaleGvk, undefined, scale),
      put: op("put", `${kind}Scale`, info, scaleGvk, json(scale), scale, writeParams),
      patch: op("patch", `${kind}Scale`, info, scaleGvk, patchBody(), scale, [...writeParams, FORCE]),
    };
  }
  for (const [name, custom] of Object.entries(sub.custom ?? {})) {
    const customGvk = {
      group: custom.group ?? info.group,
      version: custom.version ?? info.version,
      kind: custom.kind,
    };
    const model = [`V1${custom.kind}`, `CoreV1${custom.kind}`].find((m) => MODELS[m]);
    const schema = model ? modelRef(model) : { type: "string" };
    const item_: Schema = { parameters: [nameParam, ...pathParams] };
    const id = `${kind}${name[0].toUpperCase()}${name.slice(1)}`;
    if (custom.verbs.includes("get"))
      item_.get = op(name === "log" ? "get" : "connect", id, info, customGvk, undefined, schema);
    if (custom.verbs.includes("create"))
      item_.post = op(
        model ? "create" : "connect",
        id,
        info,
        customGvk,
        model ? json(schema) : undefined,
        schema,
        writeParams,
      );
    if (custom.verbs.includes("update"))
      item_.put = op("put", id, info, customGvk, json(schema), schema, writeParams);
    out[`${item}/${name}`] = item_;
  }
  return out;
}
