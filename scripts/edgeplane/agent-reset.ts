/**
 * `node reset.mjs DATA_DIR NODE` (in the agent bundle): remove every WASM pod
 * the agent left on this host. The agent keeps its pods running when it
 * stops (a restart or upgrade must not kill them); `join.sh --uninstall`
 * runs this after stopping it. Container pods are removed by draining the
 * node first (`edgeplane node remove`).
 */
import { WasmRuntime } from "../../node-agent/src/runtime/wasm/runtime.ts";

/** Remove the sandboxes and containers under `dataDir`; returns how many sandboxes there were. */
async function resetNode(dataDir: string, nodeName: string): Promise<number> {
  const runtime = new WasmRuntime({ dataDir, nodeName, hostIP: "127.0.0.1" });
  const sandboxes = await runtime.listSandboxes();
  for (const container of await runtime.listContainers()) await runtime.removeContainer(container.id);
  for (const sandbox of sandboxes) await runtime.removeSandbox(sandbox.id);
  return sandboxes.length;
}

const [dataDir, nodeName] = process.argv.slice(2);
if (dataDir && nodeName && process.argv[1]?.endsWith("reset.mjs")) {
  const removed = await resetNode(dataDir, nodeName);
  console.log(`join.sh: removed ${removed} pod(s) of node ${nodeName}`);
}
