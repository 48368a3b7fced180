/**
 * Named network namespaces for WASM pods (`ip netns`, iproute2): a bind
 * mount under /run/netns keeps a pod's namespace alive with no process in it
 * and across agent restarts, and gives CNI a path (CNI_NETNS).
 */
import { statSync } from "node:fs";
import { launch } from "./launcher.ts";

// Through the launcher shell: a spawn from the agent itself stalls its event loop (see launcher.ts).
const ip = (...args: string[]) => launch(["ip", ...args]);
// The warm pool's namespaces are made ahead of need: niced, so starting pods go first.
const ipLow = (...args: string[]) => launch(["nice", "-n", "19", "ip", ...args]);

/** Where iproute2 keeps named namespaces. */
export const NETNS_DIR = "/run/netns";

function inode(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Creates the named namespace with its loopback up (or reuses it when it exists and is a namespace
 * of its own: `fresh` is then false) and returns its path. Refuses a path that is the agent's own
 * namespace: CNI would then wire the host.
 */
export async function createNetns(
  name: string,
  options: { lowPriority?: boolean } = {},
): Promise<{ path: string; fresh: boolean }> {
  const path = `${NETNS_DIR}/${name}`;
  const run = options.lowPriority ? ipLow : ip;
  const host = inode("/proc/self/ns/net");
  for (let attempt = 0; ; attempt++) {
    const existing = inode(path);
    if (existing && existing !== host && existing !== inode(NETNS_DIR)) return { path, fresh: false };
    if (existing) await ip("netns", "delete", name).catch(() => {});
    try {
      await run("netns", "add", name);
    } catch (error) {
      if (attempt >= 2) throw error;
    }
    const made = inode(path);
    if (made && made !== host) {
      // What CNI's loopback plugin does, without starting a Go binary per pod.
      await run("-n", name, "link", "set", "lo", "up");
      return { path, fresh: true };
    }
    if (attempt >= 2) throw new Error(`could not create network namespace ${name}`);
  }
}

/** Deletes a named namespace; no-op when it is gone. */
export async function deleteNetns(path: string): Promise<void> {
  if (!path.startsWith(`${NETNS_DIR}/`)) return;
  await ip("netns", "delete", path.slice(NETNS_DIR.length + 1)).catch(() => {
    // already gone
  });
}
