/**
 * Once per `vitest run`, before any test file of the node project starts: free the private test networks
 * (node-agent/src/testing/agent-process.ts) that earlier runs' test processes left behind.
 */
import { reclaimNetworkSlots } from "../node-agent/src/testing/agent-process.ts";

export default function setup(): void {
  reclaimNetworkSlots();
}
