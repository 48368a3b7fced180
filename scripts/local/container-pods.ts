/**
 * Stopping a local node's pods for good (containers here; WASM pods' network
 * namespaces at the end of this file). The agent leaves pods
 * running when it stops (a restarted agent adopts them), which is right for
 * a node and wrong for a stopped local cluster: killing the shims would leave
 * each sandbox's network namespace, veth and pod IP behind. So before its
 * agent stops, every sandbox of the node's private containerd is stopped and
 * removed through CRI, which runs CNI DEL like the kubelet does. The agent is
 * frozen meanwhile (SIGSTOP), so it does not restart what is being removed.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { type CniNetwork, cniDel } from "../../node-agent/src/network/cni.ts";
import { CriClient } from "../../node-agent/src/runtime/cri/client.ts";
import { deleteNetns } from "../../node-agent/src/runtime/wasm/netns.ts";

/** The CRI socket of a local node's private containerd (the agent's --containerd managed layout). */
export function nodeCriSocket(nodeDataDir: string): string {
  return join(nodeDataDir, "cri", "containerd", "containerd.sock");
}

/** Stop and remove every pod sandbox on `socket`; returns how many. A missing socket (no cri runtime) is 0. */
export async function removeContainerPods(socket: string): Promise<number> {
  if (!existsSync(socket)) return 0;
  const client = new CriClient(socket);
  try {
    const sandboxes = await client.listPodSandbox();
    for (const s of sandboxes) {
      await client.stopPodSandbox(s.id);
      await client.removePodSandbox(s.id);
    }
    return sandboxes.length;
  } finally {
    client.close();
  }
}

/** Run `work` with process `pid` frozen (SIGSTOP), continuing it afterwards whatever happens. */
export async function whileFrozen<T>(pid: number, work: () => Promise<T>): Promise<T> {
  try {
    process.kill(pid, "SIGSTOP");
  } catch {
    // already gone: nothing to freeze
  }
  try {
    return await work();
  } finally {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // gone
    }
  }
}

/**
 * The WASM pods' networks of a stopped local node: each sandbox's named
 * netns (a bind mount that outlives its processes) gets CNI DEL (veth, IP
 * lease) and is deleted, and the sandbox record goes, so a restarted agent
 * makes a fresh sandbox instead of reusing a namespace that is gone.
 * Call after the agent and the pods' processes have stopped; returns how many.
 */
export async function removeWasmSandboxes(nodeDataDir: string): Promise<number> {
  const dir = join(nodeDataDir, "wasm", "sandboxes");
  let removed = 0;
  if (existsSync(dir)) {
    for (const id of await readdir(dir)) {
      const record = await readFile(join(dir, id, "sandbox.json"), "utf8")
        .then(
          (text) => JSON.parse(text) as { id: string; netns?: string; network?: CniNetwork; cniId?: string },
        )
        .catch(() => undefined);
      if (record?.netns && record.network) {
        // A network from the agent's warm pool keeps the CNI id its lease was taken under.
        const containerId = record.cniId ?? record.id;
        await cniDel(record.network, { containerId, netns: record.netns }).catch(() => {});
        await deleteNetns(record.netns).catch(() => {});
      }
      await rm(join(dir, id), { recursive: true, force: true });
      removed++;
    }
  }
  // Warm-pool networks an agent stopped hard could not tear down itself.
  const pool = join(nodeDataDir, "wasm", "netns-pool");
  if (existsSync(pool)) {
    for (const name of await readdir(pool)) {
      const entry = await readFile(join(pool, name), "utf8")
        .then((text) => JSON.parse(text) as { netns: string; cniId: string; network: CniNetwork })
        .catch(() => undefined);
      if (entry?.netns && entry.network) {
        await cniDel(entry.network, { containerId: entry.cniId, netns: entry.netns }).catch(() => {});
        await deleteNetns(entry.netns).catch(() => {});
      }
      await rm(join(pool, name), { force: true });
    }
  }
  return removed;
}
