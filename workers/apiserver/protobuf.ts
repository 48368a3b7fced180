/**
 * Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf).
 *
 * kubectl 1.32+ sends typed-client writes (`kubectl create configmap|secret|namespace`)
 * as protobuf and, unlike for CBOR, never falls back to JSON on 415. We decode the
 * envelope (magic "k8s\0" + runtime.Unknown{raw=2}) and the object for the models in
 * the one field-number table below (from k8s.io/api generated.proto); other models get
 * a 415 that names the problem. Responses are always JSON (clients also accept it).
 */
import { ApiError } from "../client/status.ts";

type FieldType = "string" | "bytes" | "bool" | "int" | "map" | "bytesmap" | "strings" | Schema;
interface Schema {
  [field: number]: [name: string, type: FieldType];
}

const OBJECT_META: Schema = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  7: ["generation", "int"],
  11: ["labels", "map"],
  12: ["annotations", "map"],
  14: ["finalizers", "strings"],
};

/** Field numbers per @kubernetes/client-node model name. */
const MODELS: Record<string, Schema> = {
  V1ConfigMap: {
    1: ["metadata", OBJECT_META],
    2: ["data", "map"],
    3: ["binaryData", "bytesmap"],
    4: ["immutable", "bool"],
  },
  V1Secret: {
    1: ["metadata", OBJECT_META],
    2: ["data", "bytesmap"],
    3: ["type", "string"],
    4: ["stringData", "map"],
    5: ["immutable", "bool"],
  },
  V1Namespace: { 1: ["metadata", OBJECT_META], 2: ["spec", { 1: ["finalizers", "strings"] }] },
};

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error("truncated varint");
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new Error("varint too long");
    }
  }
  bytes(): Uint8Array {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw new Error("truncated field");
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const text = new TextDecoder();

function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function entry(bytes: Uint8Array): [string, Uint8Array] {
  const r = new Reader(bytes);
  let key = "";
  let value: Uint8Array = new Uint8Array(0);
  while (!r.done) {
    const tag = r.varint();
    if (tag >> 3 === 1 && (tag & 7) === 2) key = text.decode(r.bytes());
    else if (tag >> 3 === 2 && (tag & 7) === 2) value = r.bytes();
    else r.skip(tag & 7);
  }
  return [key, value];
}

function decodeMessage(bytes: Uint8Array, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(bytes);
  while (!r.done) {
    const tag = r.varint();
    const field = schema[tag >> 3];
    const wire = tag & 7;
    if (!field) {
      r.skip(wire);
      continue;
    }
    const [name, type] = field;
    if (type === "bool" || type === "int") {
      const v = r.varint();
      out[name] = type === "bool" ? v !== 0 : v;
    } else if (type === "string") {
      // Go marshals empty strings too; JSON would have omitted them.
      const v = text.decode(r.bytes());
      if (v !== "") out[name] = v;
    } else if (type === "bytes") out[name] = b64(r.bytes());
    else if (type === "strings") {
      out[name] ??= [];
      (out[name] as string[]).push(text.decode(r.bytes()));
    } else if (type === "map" || type === "bytesmap") {
      const [k, v] = entry(r.bytes());
      out[name] ??= {};
      (out[name] as Record<string, string>)[k] = type === "map" ? text.decode(v) : b64(v);
    } else out[name] = decodeMessage(r.bytes(), type);
  }
  return out;
}

/** Decode a protobuf-encoded object of the given model; 415 when we cannot. */
export function decodeProtobuf(
  body: Uint8Array,
  model: string,
  apiVersion: string,
  kind: string,
): Record<string, unknown> {
  const schema = MODELS[model];
  if (!schema)
    throw new ApiError(
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - protobuf is not supported for ${kind}; accepted media types include: application/json, application/yaml`,
    );
  if (body.length < 4 || body[0] !== 0x6b || body[1] !== 0x38 || body[2] !== 0x73 || body[3] !== 0)
    throw new ApiError("BadRequest", "protobuf body does not start with the k8s magic prefix");
  try {
    const envelope = new Reader(body.subarray(4));
    let raw: Uint8Array | undefined;
    while (!envelope.done) {
      const tag = envelope.varint();
      if (tag >> 3 === 2 && (tag & 7) === 2) raw = envelope.bytes();
      else envelope.skip(tag & 7);
    }
    if (!raw) throw new Error("no raw object in envelope");
    return { apiVersion, kind, ...decodeMessage(raw, schema) };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("BadRequest", `error decoding protobuf body: ${(error as Error).message}`);
  }
}
