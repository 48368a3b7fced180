/**
 * Request body decoding: size limit (413), JSON or YAML by Content-Type
 * (415 otherwise), malformed input (400), and the duplicate-field detection
 * that fieldValidation=Strict|Warn needs (JSON.parse silently keeps the last).
 */
import YAML, { isMap, isScalar, isSeq, type Node } from "yaml";
import { ApiError } from "../client/status.ts";

/** Kubernetes' request body limit. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

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
  // Protobuf is accepted wherever JSON is (for the models protobuf.ts knows).
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
  const tooLarge = () => new ApiError("RequestEntityTooLarge", "Request entity too large: limit is 3145728");
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
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

/** A parsed body plus the duplicate fields it contained (paths like "spec.replicas"). */
export interface Decoded {
  value: unknown;
  duplicates: string[];
}

/** Parse JSON or YAML text (400 BadRequest when malformed). */
export function parseBody(text: string, yaml: boolean): Decoded {
  if (!text.trim()) throw new ApiError("BadRequest", "the request body is empty");
  if (!yaml) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ApiError("BadRequest", `error decoding request body: ${(error as Error).message}`);
    }
    return { value, duplicates: jsonDuplicates(text) };
  }
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
