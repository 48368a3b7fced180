/**
 * Request body decoding: size limit (413, counted while streaming), JSON or
 * YAML by Content-Type (415 otherwise), nesting and node limits checked
 * before the real parse (400), malformed input (400), and the duplicate-field
 * detection that fieldValidation=Strict|Warn needs (JSON.parse silently keeps
 * the last).
 */
import YAML, { CST, isMap, isScalar, isSeq, Lexer, type Node } from "yaml";
import { ApiError } from "../client/status.ts";

/** Kubernetes' request body limit. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/**
 * Deepest nesting a body may have. Real manifests stay under ~30 levels (a
 * deep CRD schema near 100); 500 leaves room for any of them while keeping
 * the recursive code after parsing far from the stack limit: the yaml
 * package's composer overflows Node's stack near 880 block levels, and
 * toJS, the duplicate check, defaulting and structuredClone recurse too.
 * (kube-apiserver allows 10000 in Go, whose stacks grow.)
 */
export const MAX_NESTING = 500;

/**
 * Most YAML nodes a body may have. The yaml package keeps ~1 KB per node
 * while composing (50k nodes ≈ 50 MB, 0.3 s in Node), and a Worker has
 * 128 MB. JSON bodies (what kubectl and client-go send, also for server-side
 * apply) take the JSON path and are bounded by MAX_BODY_BYTES alone.
 */
export const MAX_YAML_NODES = 50_000;

/** Body media types a write accepts. */
export type BodyType =
  | "json"
  | "yaml"
  | "protobuf"
  | "json-patch"
  | "merge-patch"
  | "strategic-merge-patch"
  | "apply-patch";

const MEDIA: Record<string, BodyType> = {
  "application/json": "json",
  "application/yaml": "yaml",
  "application/json-patch+json": "json-patch",
  "application/merge-patch+json": "merge-patch",
  "application/strategic-merge-patch+json": "strategic-merge-patch",
  "application/apply-patch+yaml": "apply-patch",
  "application/vnd.kubernetes.protobuf": "protobuf",
};

/** The body type of a request, checked against what the verb allows (415 otherwise). */
export function bodyType(request: Request, allowed: BodyType[]): BodyType {
  const raw = request.headers.get("Content-Type") ?? "";
  const media = raw.split(";")[0].trim().toLowerCase();
  const type: BodyType | undefined = media === "" && allowed.includes("json") ? "json" : MEDIA[media];
  // Protobuf is accepted wherever JSON is (for the kinds whose row has a protobuf table; 415 later otherwise).
  const ok = type === "protobuf" ? allowed.includes("json") : type !== undefined && allowed.includes(type);
  if (!type || !ok) {
    throw new ApiError(
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${Object.keys(MEDIA)
        .filter((m) => allowed.includes(MEDIA[m]))
        .join(", ")}`,
    );
  }
  return type;
}

/** Read the body as text, refusing more than MAX_BODY_BYTES (413). */
export async function readBody(request: Request): Promise<string> {
  return new TextDecoder().decode(await readBodyBytes(request));
}

/** Read the body as bytes, refusing more than MAX_BODY_BYTES (413). */
export async function readBodyBytes(request: Request): Promise<Uint8Array> {
  const bytes = await readAtMost(request, MAX_BODY_BYTES);
  if (!bytes)
    throw new ApiError("RequestEntityTooLarge", `Request entity too large: limit is ${MAX_BODY_BYTES}`);
  return bytes;
}

/** Read a JSON object body (custom subresources) under the same limits as every other body. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const { value } = parseBody(await readBody(request), false);
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ApiError("BadRequest", "the request body is not a valid JSON object");
  return value as Record<string, unknown>;
}

/**
 * The body's bytes, or undefined when it holds more than `limit`. Content-Length
 * is only a hint (it may lie, or be absent for chunked bodies): the bytes are
 * counted as they stream in, and reading stops at the first byte past the limit.
 */
export async function readAtMost(request: Request, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > limit) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  return all;
}

const META_STRINGS = [
  "name",
  "generateName",
  "namespace",
  "uid",
  "resourceVersion",
  "selfLink",
  "creationTimestamp",
  "deletionTimestamp",
] as const;
const META_MAPS = ["labels", "annotations"] as const;
const META_LISTS = ["ownerReferences", "finalizers", "managedFields"] as const;
const META_NUMBERS = ["generation", "deletionGracePeriodSeconds"] as const;

/**
 * Check a body's metadata against ObjectMeta's wire types, as kube's typed
 * decoder does (400 on a mismatch), so `metadata: "x"` or `uid: []` is a
 * decode error rather than a TypeError deep in the registry. null counts as
 * absent, as it does in Go (and deletes a label in a merge patch).
 */
export function checkObjectMeta(object: Record<string, unknown>): void {
  if (!("metadata" in object) || object.metadata === null) return;
  const meta = object.metadata;
  const bad = (field: string, want: string) =>
    new ApiError(
      "BadRequest",
      `error decoding request body: metadata${field ? `.${field}` : ""} must be ${want}`,
    );
  if (typeof meta !== "object" || Array.isArray(meta)) throw bad("", "an object (ObjectMeta)");
  const m = meta as Record<string, unknown>;
  const present = (k: string) => m[k] !== undefined && m[k] !== null;
  for (const k of META_STRINGS) if (present(k) && typeof m[k] !== "string") throw bad(k, "a string");
  for (const k of META_NUMBERS) if (present(k) && typeof m[k] !== "number") throw bad(k, "a number");
  for (const k of META_LISTS) if (present(k) && !Array.isArray(m[k])) throw bad(k, "a list");
  for (const k of META_MAPS) {
    if (!present(k)) continue;
    const map = m[k];
    if (
      typeof map !== "object" ||
      Array.isArray(map) ||
      Object.values(map as object).some((v) => v !== null && typeof v !== "string")
    )
      throw bad(k, "a map of strings");
  }
}

/** A parsed body plus the duplicate fields it contained (paths like "spec.replicas"). */
export interface Decoded {
  value: unknown;
  duplicates: string[];
}

/**
 * Parse JSON or YAML text (400 BadRequest when malformed, too deep or too
 * big). YAML text that is a JSON object (server-side apply from kubectl) is
 * parsed as JSON, as kube's YAMLToJSON does, which is faster and lighter.
 */
export function parseBody(text: string, yaml: boolean): Decoded {
  if (!text.trim()) throw new ApiError("BadRequest", "the request body is empty");
  if (!yaml) return parseJson(text, false) as Decoded;
  // YAML-typed bodies that are JSON objects (kubectl's server-side apply) take the JSON path.
  const json = text.trimStart().startsWith("{") ? parseJson(text, true) : undefined;
  if (json) return json;
  checkYamlShape(text);
  try {
    return parseYaml(text);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    // The yaml package's guard against alias bombs ("Excessive alias count"), bad anchors, deep stacks.
    throw new ApiError("BadRequest", `error decoding YAML: ${(error as Error).message}`);
  }
}

function parseYaml(text: string): Decoded {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: false });
  const real = Array.isArray(docs) ? docs.filter((d) => d.contents !== null) : [];
  if (!Array.isArray(docs) || real.length !== 1)
    throw new ApiError("BadRequest", "error decoding YAML: the body must hold exactly one document");
  const doc = real[0];
  if (doc.errors.length) throw new ApiError("BadRequest", `error decoding YAML: ${doc.errors[0].message}`);
  const duplicates: string[] = [];
  yamlDuplicates(doc.contents as Node, "", duplicates);
  return { value: doc.toJS({ maxAliasCount: 100 }), duplicates };
}

/**
 * JSON text parsed after a bracket-depth pre-scan (V8's JSON.parse itself is
 * iterative, but everything after it recurses). With `orYaml`, text that is
 * not valid JSON (or too deep for the scan) gives undefined: the YAML path
 * then decides, with its own limits.
 */
function parseJson(text: string, orYaml: boolean): Decoded | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: brackets inside it do not nest.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_NESTING) {
        if (orYaml) return undefined;
        throw tooDeep();
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    if (orYaml) return undefined;
    throw new ApiError("BadRequest", `error decoding request body: ${(error as Error).message}`);
  }
  return { value, duplicates: jsonDuplicates(text) };
}

function tooDeep(): ApiError {
  return new ApiError("BadRequest", `error decoding request body: nested deeper than ${MAX_NESTING} levels`);
}

/**
 * Refuse YAML that nests deeper than MAX_NESTING or has more than
 * MAX_YAML_NODES nodes, from the lexer's token stream alone: the lexer is a
 * generator with no tree, so `[[[[…` or `- - - …` stops after MAX_NESTING
 * tokens instead of building a parser stack per byte. Block nesting is
 * tracked by the columns of the open `-`/`?`/`:` indicators; a line's first
 * token closes every indicator at or right of its column.
 */
function checkYamlShape(text: string): void {
  // Open block collections: the column they sit at and whether a `-` or a `:`/`?` opened them.
  const open: { col: number; seq: boolean }[] = [];
  let flow = 0;
  let nodes = 0;
  let col = 0;
  let lineStart = true;
  let scalarSource = false;
  // Where the last node on this line began: a `:` opens its map at its key's column.
  let nodeCol = 0;
  for (const token of new Lexer().lex(text)) {
    const type = scalarSource ? "scalar-source" : CST.tokenType(token);
    scalarSource = token === CST.SCALAR;
    if (type === "doc-mode" || type === "scalar" || type === "flow-error-end" || type === "byte-order-mark")
      continue;
    if (type === "newline") {
      col = 0;
      lineStart = true;
      continue;
    }
    if (type === "space" || type === "comment") {
      advance(token);
      continue;
    }
    if (type === "doc-start" || type === "doc-end") open.length = 0;
    if (lineStart) nodeCol = col;
    if (flow === 0 && lineStart) {
      // A `-` at its parent key's column is that key's value (`a:\n- x`), not a sibling.
      const seqItem = type === "seq-item-ind";
      for (
        let top = open.at(-1);
        top && (top.col > col || (top.col === col && (top.seq || !seqItem)));
        top = open.at(-1)
      )
        open.pop();
    }
    lineStart = false;
    if (type === "flow-map-start" || type === "flow-seq-start") flow++;
    else if (type === "flow-map-end" || type === "flow-seq-end") flow = Math.max(0, flow - 1);
    else if (flow === 0 && type === "seq-item-ind") open.push({ col, seq: true });
    else if (flow === 0 && type === "explicit-key-ind") open.push({ col, seq: false });
    else if (flow === 0 && type === "map-value-ind" && open.at(-1)?.col !== Math.min(nodeCol, col))
      open.push({ col: Math.min(nodeCol, col), seq: false });
    if (type !== "map-value-ind") nodeCol = col;
    if (type !== "comma" && type !== "flow-map-end" && type !== "flow-seq-end" && ++nodes > MAX_YAML_NODES)
      throw new ApiError("BadRequest", `error decoding YAML: more than ${MAX_YAML_NODES} nodes`);
    if (open.length + flow > MAX_NESTING) throw tooDeep();
    advance(token);
  }

  function advance(token: string): void {
    const nl = token.lastIndexOf("\n");
    if (nl < 0) col += token.length;
    else {
      col = token.length - nl - 1;
      lineStart = col === 0 || /^[ \t]*$/.test(token.slice(nl + 1));
    }
  }
}

function joinPath(base: string, key: string): string {
  return base ? `${base}.${key}` : key;
}

function yamlDuplicates(node: Node | null, path: string, out: string[]): void {
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (seen.has(key)) out.push(joinPath(path, key));
      seen.add(key);
      yamlDuplicates(pair.value as Node, joinPath(path, key), out);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      yamlDuplicates(item as Node, `${path}[${i}]`, out);
    });
  }
}

/** Paths of keys that appear twice in one JSON object (the text is already known to be valid JSON). */
export function jsonDuplicates(text: string): string[] {
  const out: string[] = [];
  type Frame =
    | { kind: "object"; keys: Set<string>; path: string; key?: string }
    | { kind: "array"; path: string; index: number };
  const stack: Frame[] = [];
  let i = 0;
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (!top) return "";
    return top.kind === "object" ? joinPath(top.path, top.key ?? "") : `${top.path}[${top.index}]`;
  };
  let expectKey = false;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.kind === "object") {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) out.push(joinPath(top.path, key));
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (ch === "{") {
      stack.push({ kind: "object", keys: new Set(), path: childPath() });
      expectKey = true;
    } else if (ch === "[") {
      stack.push({ kind: "array", path: childPath(), index: 0 });
    } else if (ch === "}" || ch === "]") {
      stack.pop();
    } else if (ch === ",") {
      const top = stack[stack.length - 1];
      if (top?.kind === "object") expectKey = true;
      else if (top?.kind === "array") top.index++;
    }
    i++;
  }
  return out;
}
