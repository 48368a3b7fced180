/**
 * Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf).
 *
 * kubectl 1.32+ sends typed-client writes (`kubectl create configmap|secret|deployment|...`)
 * as protobuf and, unlike for CBOR, never falls back to JSON on 415. We decode the
 * envelope (magic "k8s\0" + runtime.Unknown{raw=2}) and the object for the models in
 * the kind's field-number table (its row's `protobuf`, kinds/<kind>.proto.ts); other models get a 415 that names the problem. Responses are always JSON (clients also accept it).
 */
import { ApiError } from "../client/status.ts";
import type { FieldType, Schema } from "./protobuf-schemas.ts";

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
  /** An int64/int32 varint: negative numbers arrive as 64-bit two's complement, which a double cannot hold exactly. */
  signedVarint(): number {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error("truncated varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, result));
      shift += 7n;
      if (shift > 63n) throw new Error("varint too long");
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

function decodeValue(r: Reader, wire: number, type: FieldType): unknown {
  if (type === "int" || type === "int0") return r.signedVarint();
  if (type === "bool" || type === "keepbool") return r.varint() !== 0;
  const bytes = r.bytes();
  if (type === "string") return text.decode(bytes);
  if (type === "bytes") return b64(bytes);
  if (type === "intorstring") {
    // IntOrString: type=1 (0 int, 1 string), intVal=2, strVal=3.
    const v = decodeMessage(bytes, { 1: ["type", "int"], 2: ["intVal", "int"], 3: ["strVal", "string"] });
    return v.type === 1 ? (v.strVal ?? "") : (v.intVal ?? 0);
  }
  if (Array.isArray(type)) return decodeMessage(bytes, type[0]);
  if (typeof type === "object") return decodeMessage(bytes, type);
  throw new Error(`unexpected wire type ${wire} for ${String(type)}`);
}

function decodeMessage(bytes: Uint8Array, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(bytes);
  while (!r.done) {
    const tag = r.varint();
    const field = schema[Math.floor(tag / 8)];
    const wire = tag & 7;
    if (!field) {
      r.skip(wire);
      continue;
    }
    const [name, type] = field;
    if (type === "map" || type === "bytesmap" || type === "quantitymap") {
      const [k, v] = entry(r.bytes());
      out[name] ??= {};
      const value =
        type === "bytesmap"
          ? b64(v)
          : type === "quantitymap"
            ? (decodeMessage(v, { 1: ["string", "string"] }).string ?? "")
            : text.decode(v);
      (out[name] as Record<string, unknown>)[k] = value;
    } else if (type === "strings") {
      out[name] ??= [];
      (out[name] as string[]).push(text.decode(r.bytes()));
    } else if (Array.isArray(type)) {
      out[name] ??= [];
      (out[name] as unknown[]).push(decodeValue(r, wire, type));
    } else {
      const value = decodeValue(r, wire, type);
      // An embedded message JSON inlines (name ""): its fields are the parent's (Ingress rules' IngressRuleValue).
      if (name === "" && value && typeof value === "object") {
        Object.assign(out, value);
        continue;
      }
      // Go marshals zero values of non-pointer fields; JSON (omitempty) would not have them.
      if (value === "" || (type === "bool" && value === false) || (type === "int0" && value === 0)) continue;
      out[name] = value;
    }
  }
  return out;
}

/** Decode a protobuf-encoded object with its kind's field table (the row's `protobuf`); 415 without one. */
export function decodeProtobuf(
  body: Uint8Array,
  schema: Schema | undefined,
  apiVersion: string,
  kind: string,
): Record<string, unknown> {
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
