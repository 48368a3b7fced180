/**
 * `edgeplane`: small commands for an Edgeplane cluster.
 *
 *   edgeplane push <file.wasm> <[host/]repository[:tag]> [--kubeconfig F]
 *   edgeplane kubeconfig --user NAME [--group G]... [--ttl 24h]   (lib/user-kubeconfig.ts)
 *   edgeplane token create|list|delete, edgeplane node remove  (scripts/edgeplane/commands.ts)
 *
 * Pushes a .wasm module or component into the cluster's built-in registry
 * as an OCI artifact, using the kubeconfig's server, CA and token (default:
 * $KUBECONFIG, else .edgeplane/kubeconfig from `npm start`). A host in the
 * reference is informational: the push always goes to the kubeconfig's
 * control plane, whose /v2/ is the registry.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { JOIN_USAGE, joinCommands } from "./edgeplane/commands.ts";
import { clusterFetch } from "./lib/client.ts";
import { readKubeconfig } from "./lib/kubeconfig.ts";
import { parseRef, pushWasm } from "./lib/oci-push.ts";
import { kubeconfigCommand } from "./lib/user-kubeconfig.ts";

const USAGE = `usage: edgeplane push <file.wasm> <[host/]repository[:tag]> [--kubeconfig FILE]

  Pushes a WebAssembly module or component to the cluster's built-in registry
  as an OCI artifact (config application/vnd.wasm.config.v0+json, layer
  application/wasm). --kubeconfig defaults to $KUBECONFIG, then .edgeplane/kubeconfig.
${JOIN_USAGE}`;

/** Run the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const defaultKubeconfig = env.KUBECONFIG?.split(":")[0] ?? resolve(root, ".edgeplane/kubeconfig");
  if (argv[0] === "kubeconfig") return kubeconfigCommand(argv.slice(1), defaultKubeconfig);
  if (argv[0] === "token" || argv[0] === "node") return joinCommands(argv, env, root);
  const { values, positionals } = parseArgs({
    args: argv,
    options: { kubeconfig: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: true,
  });
  const [command, file, ref] = positionals;
  if (values.help || command !== "push" || !file || !ref || positionals.length !== 3) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const kubeconfig = values.kubeconfig ?? defaultKubeconfig;
  const access = await readKubeconfig(kubeconfig);
  const { repository, tag } = parseRef(ref);
  const wasm = new Uint8Array(await readFile(file));
  const fetcher = clusterFetch(access);
  try {
    const pushed = await pushWasm(fetcher, repository, tag, wasm);
    console.log(
      `pushed ${repository}:${tag} ${pushed.digest} (${wasm.byteLength} bytes) to ${access.server}`,
    );
    return 0;
  } finally {
    await fetcher.close();
  }
}
