/**
 * An authenticated HTTPS client for the local (or a remote) control plane,
 * trusting its private CA: used by `npm start` (readiness, node checks,
 * sample pushes) and the `edgeplane` CLI. Node 20's global fetch cannot take
 * a CA, so this goes through undici with its own Agent.
 */
import { Agent, fetch as undiciFetch } from "undici";

/** Where a control plane is and how to talk to it. */
export interface ClusterAccess {
  /** https://host:port (no trailing slash). */
  server: string;
  /** Bearer token (never printed). */
  token: string;
  /** PEM of the CA that signed the server's certificate; system roots when absent. */
  ca?: string;
}

/** fetch bound to one control plane: relative paths, bearer token, its CA. */
export type ClusterFetch = (path: string, init?: RequestInit) => Promise<Response>;

/** A fetch for `access`; call close() when done so no sockets keep the process alive. */
export function clusterFetch(access: ClusterAccess): ClusterFetch & { close(): Promise<void> } {
  const dispatcher = new Agent({ connect: access.ca ? { ca: access.ca } : {} });
  const fetcher = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${access.token}`);
    const response = await undiciFetch(new URL(path, access.server), {
      ...(init as Parameters<typeof undiciFetch>[1]),
      headers: Object.fromEntries(headers),
      dispatcher,
    });
    return response as unknown as Response;
  };
  return Object.assign(fetcher, { close: () => dispatcher.close() });
}
