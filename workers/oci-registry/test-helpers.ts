/** Helpers for the registry's workerd tests: authenticated requests through the Worker's fetch. */
import { SELF } from "cloudflare:test";

/** The admin token the workers test project configures (vitest.config.ts). */
export const ADMIN = "test-admin-token";
const BASE = "https://edgeplane.test";

/** fetch through the Worker with the admin token (or the given Authorization, or none when null). */
export function reg(
  path: string,
  init: RequestInit = {},
  auth: string | null = `Bearer ${ADMIN}`,
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (auth !== null) headers.set("Authorization", auth);
  return SELF.fetch(new URL(path, BASE).href, { ...init, headers });
}

/** sha256:<hex> of bytes. */
export async function digestOf(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const hash = await crypto.subtle.digest("SHA-256", bytes);
  return `sha256:${[...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Upload a blob monolithically; returns its digest. */
export async function pushBlob(name: string, data: Uint8Array | string): Promise<string> {
  const digest = await digestOf(data);
  const res = await reg(`/v2/${name}/blobs/uploads/?digest=${digest}`, { method: "POST", body: data });
  if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  return digest;
}

/** The OCI error code of a failed response. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors: { code: string }[] };
  return body.errors[0].code;
}

/** A response body decoded as UTF-8 (blobs are served as octet-stream). */
export async function bodyText(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}
