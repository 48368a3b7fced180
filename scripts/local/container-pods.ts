/**
 * Stopping a local node's container pods for good. The agent leaves pods
 * running when it stops (a restarted agent adopts them), which is right for
 * a node and wrong for a stopped local cluster: killing the shims would leave
 * each sandbox's network namespace, veth and pod IP behind. So before its
 * agent stops, every sandbox of the node's private containerd is stopped and
 * removed through CRI, which runs CNI DEL like the kubelet does. The agent is
 * frozen meanwhile (SIGSTOP), so it does not restart what is being removed.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CriClient } from "../../node-agent/src/runtime/cri/client.ts";

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
