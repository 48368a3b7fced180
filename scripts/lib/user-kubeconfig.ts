/**
 * `edgeplane kubeconfig --user NAME [--group G]... [--ttl 24h]`: an admin
 * mints a user's signed, expiring token (POST /edgeplane/v1/usertokens on
 * the cluster of the admin's kubeconfig) and gets a kubeconfig for that user
 * on stdout (or --output FILE, 0600). The token is never logged; it expires
 * after --ttl and dies sooner only with the signing key (docs/deploy.md).
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { type ClusterAccess, clusterFetch } from "./client.ts";
import { readKubeconfig } from "./kubeconfig.ts";

/** Usage of the command. */
export const KUBECONFIG_USAGE = `usage: edgeplane kubeconfig --user NAME [--group GROUP]... [--ttl 24h] [--output FILE] [--kubeconfig ADMIN]

  Mints a signed token for user NAME in the given groups, valid for --ttl
  (s, m, h or d; 10m to 366d; default 24h), and prints a kubeconfig for it.
  Needs an admin (system:masters) kubeconfig: --kubeconfig, $KUBECONFIG, then .edgeplane/kubeconfig.`;

/** Seconds in a duration like 90s, 30m, 24h, 7d. */
export function parseTtl(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) throw new Error(`--ttl ${JSON.stringify(text)}: expected a number with s, m, h or d (e.g. 24h)`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "s" | "m" | "h" | "d"];
}

/** A kubeconfig for `user` holding `token`, on the admin's cluster. */
export function userKubeconfigYaml(access: ClusterAccess, user: string, token: string): string {
  const cluster: Record<string, string> = { server: access.server };
  if (access.ca) cluster["certificate-authority-data"] = Buffer.from(access.ca).toString("base64");
  const name = `edgeplane-${user}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "edgeplane", cluster }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name, context: { cluster: "edgeplane", user } }],
    "current-context": name,
    preferences: {},
  });
}

/** Run the command; `adminKubeconfig` is the default path. Returns the exit code. */
export async function kubeconfigCommand(argv: string[], adminKubeconfig: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      user: { type: "string" },
      group: { type: "string", multiple: true },
      ttl: { type: "string", default: "24h" },
      output: { type: "string", short: "o" },
      kubeconfig: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help || !values.user) {
    console.error(KUBECONFIG_USAGE);
    return values.help ? 0 : 2;
  }
  const access = await readKubeconfig(values.kubeconfig ?? adminKubeconfig);
  const fetcher = clusterFetch(access);
  try {
    const response = await fetcher("/edgeplane/v1/usertokens", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        user: values.user,
        groups: values.group ?? [],
        expirationSeconds: parseTtl(values.ttl),
      }),
    });
    const body = (await response.json()) as {
      token?: string;
      expirationTimestamp?: string;
      message?: string;
    };
    if (response.status !== 201 || !body.token) {
      console.error(`edgeplane: ${response.status}: ${body.message ?? "no token in the answer"}`);
      return 1;
    }
    const yaml = userKubeconfigYaml(access, values.user, body.token);
    if (values.output) {
      await writeFile(values.output, yaml, { mode: 0o600 });
      console.error(`wrote ${values.output} for ${values.user} (expires ${body.expirationTimestamp})`);
    } else process.stdout.write(yaml);
    return 0;
  } finally {
    await fetcher.close();
  }
}
