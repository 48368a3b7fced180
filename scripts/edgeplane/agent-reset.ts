/**
 * `node reset.mjs DATA_DIR NODE` (in the agent bundle): remove every pod the
 * agent left on this host. The agent keeps its pods running when it stops
 * (a restart or upgrade must not kill them); `join.sh --uninstall` runs this
 * after stopping it. WASM pods are the agent's runner processes; container
 * pods live in the agent's private containerd, which is started again (or
 * adopted) to stop and remove their sandboxes, then stopped.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startContainerd } from "../../node-agent/src/runtime/cri/containerd.ts";
import { CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import { WasmRuntime } from "../../node-agent/src/runtime/wasm/runtime.ts";

/** Remove the WASM sandboxes and containers under `dataDir`; returns how many sandboxes there were. */
async function resetWasm(dataDir: string, nodeName: string): Promise<number> {
  const runtime = new WasmRuntime({ dataDir, nodeName, hostIP: "127.0.0.1" });
  const sandboxes = await runtime.listSandboxes();
  for (const container of await runtime.listContainers()) await runtime.removeContainer(container.id);
  for (const sandbox of sandboxes) await runtime.removeSandbox(sandbox.id);
  return sandboxes.length;
}

/** Remove the container pods of the agent's managed containerd (none without one); returns how many. */
async function resetCri(dataDir: string): Promise<number> {
  const dir = join(dataDir, "cri", "containerd");
  if (!existsSync(join(dir, "config.toml"))) return 0;
  const containerd = await startContainerd({ dataDir: dir });
  try {
    const runtime = new CriRuntime({ endpoint: containerd.socket });
    const sandboxes = await runtime.listSandboxes();
    for (const sandbox of sandboxes) await runtime.removeSandbox(sandbox.id);
    await runtime.close();
    return sandboxes.length;
  } finally {
    await containerd.stop();
  }
}

const [dataDir, nodeName] = process.argv.slice(2);
if (dataDir && nodeName && process.argv[1]?.endsWith("reset.mjs")) {
  const removed = (await resetWasm(dataDir, nodeName)) + (await resetCri(dataDir));
  console.log(`join.sh: removed ${removed} pod(s) of node ${nodeName}`);
}
