/**
 * Once per `vitest run`, before any test file of the node project starts:
 *  - the host must be able to run what the tests claim (containers under containerd/runc, WASM pods under
 *    bubblewrap, network namespaces, nftables). Missing Debian packages are installed the way `npm start`
 *    installs them (scripts/setup-host.sh, as root); anything still missing fails the run here, saying
 *    what, rather than letting suites skip themselves and pass without testing anything;
 *  - free the private test networks (node-agent/src/testing/agent-process.ts) that earlier runs' test
 *    processes left behind.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { reclaimNetworkSlots } from "../node-agent/src/testing/agent-process.ts";
import { containerRuntimeProblem, hasCommand, missingPackages, runSetupHost } from "../scripts/local/host.ts";
import { buildWorker } from "./e2e/worker-build.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Why this host cannot run the suite, or undefined when it can (after installing what it may). */
function hostProblem(): string | undefined {
  const missing = missingPackages(ROOT);
  if (missing.length > 0) {
    if (process.getuid?.() !== 0)
      return `missing Debian packages ${missing.join(" ")}: run sudo bash scripts/setup-host.sh`;
    console.log(`npm test: installing missing Debian packages: ${missing.join(" ")}`);
    if (!runSetupHost(ROOT)) return "scripts/setup-host.sh failed (its output is above)";
  }
  const containers = containerRuntimeProblem();
  if (containers) return containers;
  const tools = ["ip", "nft", "bwrap", "kubectl"].filter((c) => !hasCommand(c));
  if (tools.length > 0) return `missing commands: ${tools.join(", ")}`;
  return undefined;
}

export default async function setup(project: TestProject): Promise<void> {
  const problem = hostProblem();
  if (problem)
    throw new Error(
      `the end-to-end and node tests need root on Linux with the project's Debian packages: ${problem}`,
    );
  reclaimNetworkSlots();
  // The Worker bundled and wrangler.toml read once for every e2e file's control planes (test/e2e/harness.ts):
  // per file, esbuild and importing wrangler took seconds of each file's start.
  project.provide("edgeplaneWorker", await buildWorker());
}
