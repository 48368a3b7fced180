#!/bin/sh
# Edgeplane: join this host to a cluster as a node, served by the control plane at /join.sh.
#
#   curl -fsSL https://SERVER/join.sh | sudo sh -s -- --server https://SERVER --name NODE \
#     --token ID.SECRET [--ca-hash sha256:HEX] [--runtimes wasm,cri] [-- AGENT-FLAGS...]
#   ... | sudo sh -s -- --uninstall [--name NODE]
#
# Needs only Node.js 20+ (and containerd/runc for --runtimes cri). The token
# is checked only after the server is trusted: its certificate verifies with
# the system roots (a public certificate: --ca-hash is not needed), or the CA
# it serves matches --ca-hash (the SHA-256 of the CA's SubjectPublicKeyInfo,
# as kubeadm's --discovery-token-ca-cert-hash) and its certificate chains to
# that CA. Installs the agent bundle of the server's own version under
# --prefix (/opt/edgeplane), the token in PREFIX/etc/token (mode 0600), and a
# systemd unit (Restart=on-failure) when systemd runs; re-running upgrades in
# place. Other options: --data-dir DIR (/var/lib/edgeplane), --unit-dir DIR
# (/etc/systemd/system), --foreground (run the agent here, no service),
# --token-file F or EDGEPLANE_TOKEN instead of --token.
set -eu
if ! command -v node >/dev/null 2>&1; then
  echo "join.sh: Node.js 20 or newer is required (https://nodejs.org/en/download)" >&2
  exit 1
fi
# --foreground: once installed, this shell becomes the agent (exec), so no
# process holding this command line (and its --token) outlives the install.
EDGEPLANE_JOIN_EXEC=$(mktemp)
export EDGEPLANE_JOIN_EXEC
trap 'rm -f "$EDGEPLANE_JOIN_EXEC"' EXIT
node --input-type=module - "$@" <<'EDGEPLANE_JOIN'
import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path, { join } from "node:path";
import { parseArgs } from "node:util";

const UNIT = "edgeplane-agent";
// Node's errors for a certificate that does not chain to a trusted root (as opposed to a bad connection).
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
]);

function die(message) {
  console.error(`join.sh: ${message}`);
  process.exit(1);
}
const say = (message) => console.log(`join.sh: ${message}`);

if (Number(process.versions.node.split(".")[0]) < 20) die(`Node.js 20 or newer is required (this is ${process.version})`);

let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: {
      server: { type: "string" },
      token: { type: "string" },
      "token-file": { type: "string" },
      "ca-hash": { type: "string" },
      name: { type: "string" },
      runtimes: { type: "string" },
      prefix: { type: "string", default: "/opt/edgeplane" },
      "data-dir": { type: "string", default: "/var/lib/edgeplane" },
      "unit-dir": { type: "string", default: "/etc/systemd/system" },
      foreground: { type: "boolean", default: false },
      uninstall: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
  });
} catch (error) {
  die(error.message);
}
const o = args.values;
if (o.help) {
  console.log(`usage: join.sh --server https://HOST --name NODE --token ID.SECRET [--ca-hash sha256:HEX]
               [--runtimes wasm[,cri]] [--prefix /opt/edgeplane] [--data-dir /var/lib/edgeplane]
               [--unit-dir /etc/systemd/system] [--foreground] [-- AGENT-FLAGS...]
       join.sh --uninstall [--prefix ...] [--data-dir ...] [--unit-dir ...]
  The token may also come from --token-file F or EDGEPLANE_TOKEN. See docs/deploy.md.`);
  process.exit(0);
}
const agentArgs = args.positionals;
const prefix = o.prefix;
const paths = {
  etc: join(prefix, "etc"),
  token: join(prefix, "etc", "token"),
  ca: join(prefix, "etc", "ca.pem"),
  settings: join(prefix, "etc", "join.json"),
  versions: join(prefix, "versions"),
  current: join(prefix, "current"),
  launcher: join(prefix, "bin", "edgeplane-agent"),
  pid: join(prefix, "run", "agent.pid"),
  unit: join(o["unit-dir"], `${UNIT}.service`),
};
const systemd = fs.existsSync("/run/systemd/system") && !o.foreground;

/** GET url over HTTPS with `tls` options; resolves { status, body } or rejects with Node's error. */
function get(url, tls = {}, headers = {}) {
  return request(url, tls, headers, "GET");
}

/** One HTTPS request without a body. */
function request(url, tls, headers, method) {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { ...tls, method, headers, timeout: 30_000 }, (response) => {
      const chunks = [];
      response.on("data", (c) => chunks.push(c));
      response.on("end", () => resolve({ status: response.statusCode, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within 30 s`)));
    request.on("error", reject);
    request.end();
  });
}

/** The Status message of an API error body, else its first line. */
function reason(body) {
  try {
    return JSON.parse(body.toString()).message;
  } catch {
    return body.toString().split("\n")[0];
  }
}

/** "sha256:<hex>" of a certificate's SubjectPublicKeyInfo (kubeadm's CA pin). */
function spkiHash(cert) {
  return `sha256:${createHash("sha256").update(cert.publicKey.export({ type: "spki", format: "der" })).digest("hex")}`;
}

/** The process in the pid file, if it is still our agent. */
function runningAgent() {
  try {
    const pid = Number(fs.readFileSync(paths.pid, "utf8"));
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(prefix) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stop an agent started by hand or in the foreground (SIGTERM; pods keep running), waiting for it to exit. */
async function stopAgent() {
  const pid = runningAgent();
  if (!pid) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 300 && fs.existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 100));
  if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
  say(`stopped the agent (pid ${pid})`);
}

function systemctl(...argv) {
  const r = spawnSync("systemctl", argv, { stdio: "inherit" });
  if (r.status !== 0) die(`systemctl ${argv.join(" ")} failed`);
}

async function uninstall() {
  let settings;
  try {
    settings = JSON.parse(fs.readFileSync(paths.settings, "utf8"));
  } catch {
    // Only what join.sh installed is removed: its settings file marks the prefix and names the data dir.
    die(`${paths.settings} not found: ${prefix} is not an agent join.sh installed (give its --prefix)`);
  }
  const dataDir = settings.dataDir;
  for (const dir of [prefix, dataDir])
    if (path.resolve(dir).split("/").filter(Boolean).length < 2) die(`refusing to remove ${dir}`);
  if (fs.existsSync(paths.unit)) {
    if (systemd) systemctl("disable", "--now", UNIT);
    fs.rmSync(paths.unit, { force: true });
    if (systemd) systemctl("daemon-reload");
    say(`removed the ${UNIT} service`);
  }
  await stopAgent();
  const reset = join(paths.current, "reset.mjs");
  if (fs.existsSync(reset) && fs.existsSync(dataDir)) {
    // The agent leaves its pods running when it stops; uninstalling removes them too.
    const r = spawnSync(process.execPath, [reset, dataDir, settings.name], {
      stdio: "inherit",
    });
    if (r.status !== 0) die("removing the node's pods failed; nothing else was removed");
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(prefix, { recursive: true, force: true });
  say(`removed ${prefix} and ${dataDir}`);
  say("if the Node still exists, remove it from the cluster: edgeplane node remove NAME");
}

/**
 * Decide how to trust the server before any token goes to it: the system
 * roots when they verify its certificate (a public certificate), else the CA
 * it serves, only if that CA matches --ca-hash. Returns the CA's PEM, or
 * undefined for the system roots.
 */
async function trust(server) {
  const caUrl = `${server}/edgeplane/v1/join/ca.crt`;
  try {
    await get(caUrl);
    say("the server's certificate verifies with this host's system roots");
    return undefined;
  } catch (error) {
    if (!UNTRUSTED.has(error.code)) die(`cannot reach ${server}: ${error.message}`);
  }
  const pin = o["ca-hash"]?.toLowerCase();
  if (!pin) die(`${server}'s certificate is not signed by a CA this host trusts: give --ca-hash sha256:<hex> (printed by "edgeplane token create --print-join-command")`);
  if (!/^sha256:[0-9a-f]{64}$/.test(pin)) die(`--ca-hash must be sha256:<64 hex digits>, not ${pin}`);
  // Not yet trusted, so nothing secret is sent: the CA is public, and checked against the pin below.
  const served = await get(caUrl, { rejectUnauthorized: false }).catch((e) => die(`fetching the CA: ${e.message}`));
  if (served.status !== 200) die(`fetching the CA: HTTP ${served.status}: ${reason(served.body)}`);
  const pems = served.body.toString().match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  const certs = pems.map((pem) => ({ pem, cert: new X509Certificate(pem) }));
  const match = certs.find((c) => c.cert.ca && spkiHash(c.cert) === pin);
  if (!match)
    die(`CA hash mismatch: the server's CA is ${certs.map((c) => spkiHash(c.cert)).join(", ") || "missing"}, --ca-hash is ${pin}; refusing to send the token (wrong hash, or something is intercepting the connection)`);
  // The pinned CA must also be the one that signed the certificate the server presents.
  await get(caUrl, { ca: match.pem }).catch((e) => die(`the server's certificate does not verify with the pinned CA: ${e.message}`));
  say(`the server's CA matches ${pin}`);
  return `${match.pem}\n`;
}

function writeSecret(path, content) {
  fs.mkdirSync(paths.etc, { recursive: true, mode: 0o700 });
  fs.chmodSync(paths.etc, 0o700);
  fs.writeFileSync(`${path}.tmp`, content, { mode: 0o600 });
  fs.chmodSync(`${path}.tmp`, 0o600);
  fs.renameSync(`${path}.tmp`, path);
}

const shq = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

async function install() {
  if (!o.server) die("--server https://HOST is required");
  const server = o.server.replace(/\/+$/, "");
  if (!server.startsWith("https://")) die("--server must be an https:// URL");
  let given = o.token ?? process.env.EDGEPLANE_TOKEN;
  if (o["token-file"]) given = fs.readFileSync(o["token-file"], "utf8");
  given = given?.trim();
  // A host that joined before keeps its node credential (a re-run upgrades in place).
  const stored = fs.existsSync(paths.token) ? fs.readFileSync(paths.token, "utf8").trim() : undefined;
  if (!given && !stored) die('a token is required: --token ID.SECRET (from "edgeplane token create --node NAME")');
  if (given && !/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(given)) die("the token is malformed (want 6 and 16 characters of [a-z0-9], joined by a dot)");
  const name = (o.name ?? os.hostname()).toLowerCase();
  try {
    fs.mkdirSync(paths.etc, { recursive: true, mode: 0o700 });
  } catch (error) {
    die(`cannot write ${prefix}: ${error.message} (run as root: "| sudo sh -s -- ...", or choose --prefix)`);
  }

  const ca = await trust(server);
  const tls = ca ? { ca } : {};
  // Now the server is trusted: check the token before installing anything. True when accepted, false on 401.
  const accepted = async (token, fatal) => {
    const who = await get(`${server}/api/v1/nodes/${encodeURIComponent(name)}`, tls, { Authorization: `Bearer ${token}` }).catch((e) => die(`checking the token: ${e.message}`));
    if (who.status === 200 || who.status === 404) return true;
    if (!fatal && (who.status === 401 || who.status === 403)) return false;
    if (who.status === 401)
      die(`the token was refused (401 Unauthorized): it is wrong, expired or revoked; create a new one with "edgeplane token create --node ${name}"`);
    if (who.status === 403)
      die(`the token may not act as node ${name} (403 Forbidden: ${reason(who.body)}); a token is bound to the node named when it was created`);
    die(`checking the token: HTTP ${who.status}: ${reason(who.body)}`);
  };
  let token;
  if (stored && (await accepted(stored, !given))) {
    token = stored;
    say(`keeping this host's node credential for ${name}`);
  } else {
    await accepted(given, true);
    // The join token expires and works once: trade it for the node's lasting credential.
    const issued = await request(`${server}/edgeplane/v1/join/credential`, tls, { Authorization: `Bearer ${given}` }, "POST").catch((e) => die(`getting the node credential: ${e.message}`));
    if (issued.status !== 201) die(`getting the node credential: HTTP ${issued.status}: ${reason(issued.body)}`);
    token = JSON.parse(issued.body.toString()).token;
    writeSecret(paths.token, `${token}\n`);
    say(`traded the join token for node ${name}'s credential`);
  }

  const bundle = await get(`${server}/edgeplane/v1/join/agent.tar.gz`, tls).catch((e) => die(`downloading the agent: ${e.message}`));
  if (bundle.status !== 200) die(`downloading the agent: HTTP ${bundle.status}: ${reason(bundle.body)}`);
  fs.mkdirSync(paths.versions, { recursive: true });
  const staging = fs.mkdtempSync(join(paths.versions, ".new-"));
  const tar = spawnSync("tar", ["-xzf", "-", "-C", staging, "--no-same-owner"], { input: bundle.body });
  if (tar.status !== 0) die(`unpacking the agent: ${tar.stderr?.toString() || tar.error?.message}`);
  const version = fs.readFileSync(join(staging, "VERSION"), "utf8").trim();
  if (!/^v[0-9A-Za-z.+-]+$/.test(version)) die(`the bundle's version ${version} is malformed`);
  const target = join(paths.versions, version);
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(staging, target);
  const link = `${paths.current}.new`;
  fs.rmSync(link, { force: true });
  fs.symlinkSync(join("versions", version), link);
  fs.renameSync(link, paths.current);

  if (ca) fs.writeFileSync(paths.ca, ca, { mode: 0o644 });
  else fs.rmSync(paths.ca, { force: true });
  const dataDir = o["data-dir"];
  // Containers run in the agent's own containerd (--containerd managed): they need its binaries, not a running one.
  const onPath = (bin) => (process.env.PATH ?? "").split(":").some((d) => d && fs.existsSync(join(d, bin)));
  const runtimes = o.runtimes ?? (onPath("containerd") && onPath("runc") ? "wasm,cri" : "wasm");
  fs.writeFileSync(paths.settings, `${JSON.stringify({ server, name, dataDir, runtimes, agentArgs, version }, null, 2)}\n`);
  const argv = [
    "--no-wasm-tier-up",
    join(paths.current, "agent.mjs"),
    "--server", server,
    "--token-file", paths.token,
    ...(ca ? ["--ca-file", paths.ca] : []),
    "--name", name,
    "--data-dir", dataDir,
    "--runtimes", runtimes,
    ...agentArgs,
  ];
  fs.mkdirSync(join(prefix, "bin"), { recursive: true });
  fs.mkdirSync(join(prefix, "run"), { recursive: true });
  fs.writeFileSync(
    paths.launcher,
    `#!/bin/sh\n# Written by join.sh (re-run it to change these settings).\necho $$ > ${shq(paths.pid)}\nexec ${shq(process.execPath)} ${argv.map(shq).join(" ")}\n`,
    { mode: 0o755 },
  );
  say(`installed the agent ${version} in ${prefix} (node ${name}, runtimes ${runtimes})`);

  if (systemd) {
    fs.mkdirSync(o["unit-dir"], { recursive: true });
    fs.writeFileSync(
      paths.unit,
      [
        "[Unit]",
        "Description=Edgeplane node agent",
        "After=network-online.target containerd.service",
        "Wants=network-online.target",
        "",
        "[Service]",
        `ExecStart=${paths.launcher}`,
        "Restart=on-failure",
        "RestartSec=5",
        // Pods are the agent's children but outlive it (an upgrade restarts the agent, not the pods).
        "KillMode=process",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    );
    systemctl("daemon-reload");
    systemctl("enable", UNIT);
    systemctl("restart", UNIT);
    say(`started the ${UNIT} service; follow its log with: journalctl -u ${UNIT} -f`);
    return;
  }
  // An upgrade replaces an agent started by hand.
  await stopAgent();
  if (!o.foreground) {
    say("systemd is not running here, so no service was installed; run the agent by hand (as root):");
    say(`  nohup ${paths.launcher} >> /var/log/${UNIT}.log 2>&1 &`);
    return;
  }
  say(`running the agent in the foreground (${paths.launcher})`);
  fs.writeFileSync(process.env.EDGEPLANE_JOIN_EXEC, paths.launcher);
}

await (o.uninstall ? uninstall() : install());
EDGEPLANE_JOIN
launcher=$(cat "$EDGEPLANE_JOIN_EXEC")
rm -f "$EDGEPLANE_JOIN_EXEC"
trap - EXIT
unset EDGEPLANE_JOIN_EXEC
if [ -n "$launcher" ]; then exec "$launcher"; fi
