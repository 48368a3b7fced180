/**
 * Build-time generator for the OpenAPI schemas the API server serves
 * (workers/apiserver/openapi/schemas.generated.json).
 *
 * No npm package ships the Kubernetes OpenAPI document, but
 * @kubernetes/client-node is generated from it: every model carries its
 * fields, JSON names and types at run time (attributeTypeMap) and their
 * descriptions in its .d.ts doc comments. We walk every model reachable from
 * the served kinds and write a compact JSON (model → OpenAPI name,
 * description, required fields, properties) that openapi/index.ts turns into
 * OpenAPI v3 documents and the unknown-field check.
 *
 * Run: npx tsx scripts/gen-openapi.ts   (the output is committed; a test
 * checks that regenerating gives the same bytes).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RESOURCES } from "../workers/apiserver/kinds/index.ts";
import { METRICS_MODELS } from "../workers/apiserver/metrics/models.ts";

/** One property of a model: client-node's type string, its format, and its description. */
export interface GeneratedProperty {
  t: string;
  f?: string;
  d?: string;
}

/** One model: its OpenAPI component name, description, required fields, properties. */
export interface GeneratedModel {
  name: string;
  description?: string;
  required?: string[];
  properties: Record<string, GeneratedProperty>;
}

/** The generated file's shape. */
export interface GeneratedSchemas {
  source: string;
  /** sha256 of the models, so documents can be cache-busted without hashing them at run time. */
  hash: string;
  models: Record<string, GeneratedModel>;
}

type AttributeType = { name: string; baseName: string; type: string; format: string };
type ModelClass = { attributeTypeMap?: AttributeType[] };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the output goes, relative to the repository root. */
export const OUTPUT = join(ROOT, "workers/apiserver/openapi/schemas.generated.json");

const META = new Set([
  "ObjectMeta",
  "ListMeta",
  "LabelSelector",
  "LabelSelectorRequirement",
  "ManagedFieldsEntry",
  "OwnerReference",
  "Condition",
  "Status",
  "StatusDetails",
  "StatusCause",
  "DeleteOptions",
  "Preconditions",
]);
/** Group-qualified model-name prefixes (CoreV1Event, EventsV1Event, DiscoveryV1EndpointPort...). */
const PREFIXED =
  /^(Core|Events|Discovery|Storage|Rbac|Authentication|Networking|Resource|Flowcontrol)(V\d+(?:alpha\d+|beta\d+)?)(\w+)$/;
const PLAIN = /^(V\d+(?:alpha\d+|beta\d+)?)(\w+)$/;

/** Models that are not kinds we serve but that requests and schemas need, with the group they belong to. */
const EXTRA_ROOTS: { model: string; group: string; after: "core" | "end" }[] = [
  { model: "V1Binding", group: "", after: "core" },
  { model: "V1PodTemplateSpec", group: "", after: "core" },
  { model: "V1PersistentVolumeClaim", group: "", after: "core" },
  { model: "V1Status", group: "meta", after: "core" },
  { model: "V1DeleteOptions", group: "meta", after: "core" },
  { model: "V1Scale", group: "autoscaling", after: "end" },
  { model: "V1Eviction", group: "policy", after: "end" },
  { model: "AuthenticationV1TokenRequest", group: "authentication.k8s.io", after: "end" },
];

function packageOf(group: string): string {
  if (group === "meta") return "io.k8s.apimachinery.pkg.apis.meta";
  return `io.k8s.api.${group === "" ? "core" : group.split(".")[0]}`;
}

/** The OpenAPI component name of a model reached from a root in `group`. */
function openapiName(model: string, group: string): string {
  const prefixed = PREFIXED.exec(model);
  if (prefixed) return `io.k8s.api.${prefixed[1].toLowerCase()}.${prefixed[2].toLowerCase()}.${prefixed[3]}`;
  const plain = PLAIN.exec(model);
  if (!plain) return model;
  const pkg = META.has(plain[2]) ? packageOf("meta") : packageOf(group);
  return `${pkg}.${plain[1].toLowerCase()}.${plain[2]}`;
}

/** client-node type names that are strings on the wire, not models. */
const PRIMITIVE_LIKE = new Set(["Date", "IntOrString", "V1MicroTime"]);

/** Model names referenced by a client-node type string ("Array<V1Container>", "{ [key: string]: V1X; }"). */
function referenced(type: string): string | undefined {
  const inner = type.replace(/^Array<(.*)>$/, "$1").replace(/^\{ \[key: string\]: (.*); \}$/, "$1");
  if (inner !== type) return referenced(inner);
  return /^[A-Z]/.test(type) && !PRIMITIVE_LIKE.has(type) ? type : undefined;
}

/** The model class itself (one module per model; the package index pulls in an HTTP stack Node 20 cannot load). */
async function modelClass(modelsDir: string, model: string): Promise<ModelClass> {
  const module = (await import(pathToFileURL(join(modelsDir, `${model}.js`)).href)) as Record<
    string,
    ModelClass
  >;
  const cls = module[model];
  if (!cls?.attributeTypeMap) throw new Error(`@kubernetes/client-node has no model ${model}`);
  return cls;
}

/** Descriptions and required fields from a model's .d.ts doc comments. */
function docs(
  modelsDir: string,
  model: string,
): { description?: string; props: Map<string, string>; required: string[] } {
  const text = readFileSync(join(modelsDir, `${model}.d.ts`), "utf8");
  const clean = (block: string) =>
    block
      .split("\n")
      .map((l) => l.replace(/^\s*\*\s?/, ""))
      .join("\n")
      .trim();
  const classDoc = /\/\*\*\n((?:[ \t]*\*(?!\/).*\n)*?)[ \t]*\*\/\nexport declare class/.exec(text);
  const props = new Map<string, string>();
  const required: string[] = [];
  const propRe = /(?:\/\*\*\n((?:[ \t]*\*(?!\/).*\n)*?)[ \t]*\*\/\n)?[ \t]*'([^']+)'(\?)?:/g;
  for (let m = propRe.exec(text); m; m = propRe.exec(text)) {
    if (m[1]) props.set(m[2], clean(m[1]));
    if (!m[3]) required.push(m[2]);
  }
  return { description: classDoc ? clean(classDoc[1]) : undefined, props, required };
}

/** Build the schemas for every model reachable from the served kinds (deterministic output). */
export async function generate(): Promise<string> {
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve("@kubernetes/client-node/package.json");
  const version = JSON.parse(readFileSync(pkgJson, "utf8")).version as string;
  const modelsDir = join(dirname(pkgJson), "dist/gen/models");
  const core = RESOURCES.filter((r) => r.group === "");
  // metrics.k8s.io's models are written by hand (client-node has none).
  const rest = RESOURCES.filter((r) => r.group !== "" && !(r.model in METRICS_MODELS));
  const roots = [
    ...core.map((r) => ({ model: r.model, group: r.group })),
    ...EXTRA_ROOTS.filter((r) => r.after === "core"),
    ...rest.map((r) => ({ model: r.model, group: r.group })),
    ...EXTRA_ROOTS.filter((r) => r.after === "end"),
  ];
  const models: Record<string, GeneratedModel> = {};
  for (const root of roots) {
    // Breadth-first from each root; a model belongs to the package of the first root that reaches it.
    const queue = [root.model];
    while (queue.length) {
      const model = queue.shift() as string;
      if (models[model]) continue;
      const { description, props, required } = docs(modelsDir, model);
      const properties: Record<string, GeneratedProperty> = {};
      for (const attr of (await modelClass(modelsDir, model)).attributeTypeMap ?? []) {
        const p: GeneratedProperty = { t: attr.type };
        if (attr.format) p.f = attr.format;
        const d = props.get(attr.name);
        if (d) p.d = d;
        properties[attr.baseName] = p;
        const ref = referenced(attr.type);
        if (ref && !models[ref]) queue.push(ref);
      }
      const entry: GeneratedModel = { name: openapiName(model, root.group), properties };
      if (description) entry.description = description;
      const req = required.filter((r) => properties[r]);
      if (req.length) entry.required = req;
      models[model] = entry;
    }
  }
  const sorted = Object.fromEntries(
    Object.keys(models)
      .sort()
      .map((k) => [k, models[k]]),
  );
  const hash = createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
  const out: GeneratedSchemas = { source: `@kubernetes/client-node@${version}`, hash, models: sorted };
  return `${JSON.stringify(out)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await generate();
  writeFileSync(OUTPUT, text);
  console.log(
    `wrote ${OUTPUT} (${(text.length / 1024).toFixed(0)} KiB, ${Object.keys(JSON.parse(text).models).length} models)`,
  );
}
