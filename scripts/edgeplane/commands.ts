/**
 * The join commands of the `edgeplane` CLI (scripts/edgeplane.ts dispatches here):
 *
 *   edgeplane token create --node NAME [--ttl 24h] [--description TEXT] [--print-join-command]
 *   edgeplane token list
 *   edgeplane token delete ID
 *   edgeplane node remove NAME [--timeout 120s] [--force]
 *
 * All use the kubeconfig (--kubeconfig, else $KUBECONFIG, else
 * .edgeplane/kubeconfig from `npm start`) and its admin credentials.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type ClusterFetch, clusterFetch } from "../lib/client.ts";
import { readKubeconfig } from "../lib/kubeconfig.ts";
import { removeNode } from "./node-remove.ts";
import {
  caHash,
  createJoinToken,
  deleteJoinToken,
  formatTokens,
  joinCommand,
  listJoinTokens,
  parseTtl,
} from "./tokens.ts";

/** Usage of the join commands. */
export const JOIN_USAGE = `usage: edgeplane token create --node NAME [--ttl 24h] [--description TEXT] [--print-join-command]
       edgeplane token list
       edgeplane token delete ID
       edgeplane node remove NAME [--timeout 120s] [--force]
  (each takes --kubeconfig FILE; default $KUBECONFIG, then .edgeplane/kubeconfig)`;

/** The join command for a new token, with the CA pin when the kubeconfig trusts a private CA. */
async function printableJoin(
  fetcher: ClusterFetch,
  server: string,
  ca: string | undefined,
  node: string,
  token: string,
): Promise<string> {
  if (!ca) return joinCommand({ server, node, token });
  const pin = caHash(ca);
  // What the host will be served must match what this (verified) kubeconfig trusts.
  const served = await fetcher("/edgeplane/v1/join/ca.crt");
  if (!served.ok)
    throw new Error(
      `the control plane does not serve its CA (/edgeplane/v1/join/ca.crt: ${served.status}); set CLUSTER_CA (docs/deploy.md)`,
    );
  if (caHash(await served.text()) !== pin)
    throw new Error("the control plane serves a different CA than the kubeconfig's; fix CLUSTER_CA");
  const script = await fetcher("/join.sh");
  if (!script.ok) throw new Error(`the control plane does not serve /join.sh (${script.status})`);
  const scriptSha256 = createHash("sha256")
    .update(new Uint8Array(await script.arrayBuffer()))
    .digest("hex");
  return joinCommand({ server, node, token, caHash: pin, scriptSha256 });
}

/** Run `token ...` or `node ...`; returns the exit code. */
export async function joinCommands(
  argv: string[],
  env: NodeJS.ProcessEnv,
  root: string,
  out: (line: string) => void = console.log,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: "string" },
      node: { type: "string" },
      ttl: { type: "string", default: "24h" },
      description: { type: "string" },
      "print-join-command": { type: "boolean" },
      timeout: { type: "string", default: "120s" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  const [group, verb, arg] = positionals;
  const valid =
    (group === "token" && verb === "create" && values.node && positionals.length === 2) ||
    (group === "token" && verb === "list" && positionals.length === 2) ||
    (group === "token" && verb === "delete" && arg && positionals.length === 3) ||
    (group === "node" && verb === "remove" && arg && positionals.length === 3);
  if (values.help || !valid) {
    console.error(JOIN_USAGE);
    return values.help ? 0 : 2;
  }
  const kubeconfig =
    values.kubeconfig ?? env.KUBECONFIG?.split(":")[0] ?? resolve(root, ".edgeplane/kubeconfig");
  const access = await readKubeconfig(kubeconfig);
  const fetcher = clusterFetch(access);
  try {
    if (group === "token" && verb === "create") {
      const node = values.node as string;
      const ttlMs = parseTtl(values.ttl);
      const { token } = await createJoinToken(fetcher, { node, ttlMs, description: values.description });
      out(
        values["print-join-command"]
          ? await printableJoin(fetcher, access.server, access.ca, node, token)
          : token,
      );
    } else if (group === "token" && verb === "list") out(formatTokens(await listJoinTokens(fetcher)));
    else if (group === "token" && verb === "delete") {
      if (!(await deleteJoinToken(fetcher, arg))) {
        console.error(`edgeplane: token ${arg.split(".")[0]} not found`);
        return 1;
      }
      out(`bootstrap token "${arg.split(".")[0]}" deleted`);
    } else {
      await removeNode(fetcher, arg, { timeoutMs: parseTtl(values.timeout), force: values.force, log: out });
    }
    return 0;
  } finally {
    await fetcher.close();
  }
}
