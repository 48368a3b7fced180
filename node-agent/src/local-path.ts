/**
 * The node's half of the local-path provisioner: volumes live in one
 * directory per PV under the agent's storage dir (published on the Node as
 * edgeplane.dev/local-path-dir), and when the volume controller lists a
 * released Delete-policy volume in the Node's edgeplane.dev/local-path-cleanup
 * annotation, the agent removes its directory and then the name. A controller
 * cannot reach the host; the node's own agent can, and may only write its own
 * Node, so the request travels there.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { ApiError } from "../../workers/client/status.ts";
import type { Clock } from "./clock.ts";

/** The Node annotation naming the agent's local-path directory. */
export const LOCAL_PATH_DIR = "edgeplane.dev/local-path-dir";
const CLEANUP = "edgeplane.dev/local-path-cleanup";
/** Only the provisioner's own names ("pvc-<uid>"): never a path. */
const VOLUME_NAME = /^pvc-[a-z0-9-]+$/;

/** Where the agent keeps local-path volumes. */
export function localPathDir(dataDir: string): string {
  return join(dataDir, "storage");
}

/** Remove the directories the Node asks for, then drop their names (a CAS update, retried on conflict). */
export async function cleanVolumes(client: KubeClient, nodeName: string, dir: string): Promise<string[]> {
  for (;;) {
    const node = await client.get(R.nodes, undefined, nodeName);
    const asked = (node.metadata?.annotations?.[CLEANUP] ?? "").split(",").filter(Boolean);
    if (!asked.length) return [];
    const done = asked.filter((name) => VOLUME_NAME.test(name));
    // rmSync never follows a link planted in the volume: it removes the link itself.
    for (const name of done) rmSync(join(dir, name), { recursive: true, force: true });
    // Names that are not ours are dropped unacted on: the list only ever names volumes, never paths.
    const next: KubeObject = {
      ...node,
      metadata: {
        ...node.metadata,
        annotations: { ...node.metadata?.annotations, [CLEANUP]: "" },
      },
    };
    try {
      await client.update(R.nodes, undefined, next);
      return done;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409)) throw error;
    }
  }
}

/** Watch this Node and clean whenever it asks; re-watches after a second when the stream ends. */
export async function watchCleanup(
  client: KubeClient,
  nodeName: string,
  dir: string,
  clock: Clock,
  signal: AbortSignal,
  log: (message: string) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await cleanVolumes(client, nodeName, dir);
      const events = client.watch(R.nodes, undefined, { fieldSelector: `metadata.name=${nodeName}`, signal });
      for await (const event of events) {
        if (event.object.metadata?.annotations?.[CLEANUP]) {
          const removed = await cleanVolumes(client, nodeName, dir);
          if (removed.length) log(`local-path: removed ${removed.join(", ")}`);
        }
      }
    } catch (error) {
      if (!signal.aborted) log(`local-path cleanup: ${(error as Error).message}`);
    }
    await clock.sleep(1000, signal);
  }
}
