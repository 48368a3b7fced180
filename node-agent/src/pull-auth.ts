/**
 * The node's own pull credential for the control plane's built-in registry.
 * The agent answers that registry's Basic challenge with its own token, held
 * in memory, so no Secret has to carry a node's credential: a pull secret in
 * the API is readable by every node that runs a pod naming it.
 */
import type { PullOptions } from "./runtime/types.ts";
import { isLoopbackHost, parseImageRef } from "./runtime/wasm/oci.ts";

/**
 * Credentials for `image` when it lives on the control plane this agent joined
 * (same host and port as `server`, over HTTPS); undefined for every other
 * registry, so the token never goes anywhere else. Loopback registries are
 * pulled over plain HTTP, so they never get it either.
 */
export function ownRegistryAuth(image: string, server: string, token: string): PullOptions["auth"] {
  let registry: string;
  try {
    registry = parseImageRef(image).registry;
  } catch {
    return undefined;
  }
  const url = new URL(server);
  if (url.protocol !== "https:" || isLoopbackHost(registry)) return undefined;
  // URL.host drops the default port; an image reference may spell it out.
  const withPort = url.port ? url.host : `${url.hostname}:443`;
  return registry === url.host || registry === withPort ? { username: "node", password: token } : undefined;
}
