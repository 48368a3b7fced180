/**
 * Pod networking through CNI: the conflist containerd's CRI plugin runs for
 * every sandbox. Standard plugins from Debian's containernetworking-plugins:
 * `bridge` (a veth per pod on one node bridge, the bridge is the pods'
 * gateway), `host-local` (IPs from the node's pod CIDR), `portmap`
 * (hostPort). containerd adds `loopback` itself (go-cni's lo network, run
 * from the same bin_dir), so the conflist must not list it again.
 *
 * Only addresses inside the pod CIDR are used, on a bridge the project
 * creates; no masquerading, so nothing changes for the host's other
 * interfaces or routes.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { launcher } from "../runtime/wasm/launcher.ts";

const execFileP = promisify(execFile);

/** Default pod CIDR when the Node has no spec.podCIDR yet and none was given. */
export const DEFAULT_POD_CIDR = "10.244.0.0/24";

/** Default name of the node bridge. */
export const DEFAULT_BRIDGE = "edgeplane0";

/** What the CNI config needs. */
export interface CniOptions {
  /** The directory containerd's CRI reads (its cni.conf_dir). */
  confDir: string;
  /** The node's pod CIDR (Node spec.podCIDR), IPv4. */
  podCidr: string;
  /** Linux bridge name (at most 15 characters). */
  bridge?: string;
  /** CNI network name; also the host-local store's subdirectory. */
  networkName?: string;
  /** Where host-local records its leases (default /var/lib/cni/networks). */
  ipamDataDir?: string;
  mtu?: number;
}

/** The network options without where containerd reads its config (the WASM runtime runs CNI itself). */
export type CniNetwork = Omit<CniOptions, "confDir"> & { confDir?: string };

/** A parsed IPv4 CIDR. */
export interface Ipv4Cidr {
  network: string;
  prefix: number;
  /** First usable address: the bridge's (gateway's) address. */
  gateway: string;
}

function toInt(ip: string): number {
  return ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Parses and checks an IPv4 CIDR with room for pods (/8 to /29); throws on anything else. */
export function parseCidr(cidr: string): Ipv4Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255))
    throw new Error(`invalid pod CIDR ${JSON.stringify(cidr)}`);
  const prefix = Number(m[5]);
  if (prefix < 8 || prefix > 29) throw new Error(`pod CIDR ${cidr}: prefix must be between /8 and /29`);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(toInt(m.slice(1, 5).join(".")) / size) * size;
  return { network: toIp(base), prefix, gateway: toIp(base + 1) };
}

/** The CNI network list (conflist) for a node. Pure. */
export function cniConflist(options: CniNetwork): Record<string, unknown> {
  const cidr = parseCidr(options.podCidr);
  const bridge = options.bridge ?? DEFAULT_BRIDGE;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge))
    throw new Error(`invalid bridge name ${JSON.stringify(bridge)}`);
  const ipam: Record<string, unknown> = {
    type: "host-local",
    ranges: [[{ subnet: `${cidr.network}/${cidr.prefix}`, gateway: cidr.gateway }]],
    routes: [{ dst: "0.0.0.0/0" }],
  };
  if (options.ipamDataDir) ipam.dataDir = options.ipamDataDir;
  const bridgePlugin: Record<string, unknown> = {
    type: "bridge",
    bridge,
    isGateway: true,
    // No NAT: pods talk to each other and to the node, nothing else changes on the host.
    ipMasq: false,
    hairpinMode: true,
    // A Node's spec.podCIDR usually replaces the default once, at agent start:
    // let the plugin re-address the bridge instead of failing every new pod.
    forceAddress: true,
    ipam,
  };
  if (options.mtu) bridgePlugin.mtu = options.mtu;
  return {
    cniVersion: "0.4.0",
    name: options.networkName ?? "edgeplane",
    plugins: [bridgePlugin, { type: "portmap", capabilities: { portMappings: true } }],
  };
}

/**
 * Writes the conflist into confDir (atomically: containerd watches the
 * directory) and removes any other config there, since containerd loads the
 * first one in lexical order.
 */
export async function writeCniConfig(options: CniOptions): Promise<string> {
  const conflist = cniConflist(options);
  await mkdir(options.confDir, { recursive: true });
  const name = "10-edgeplane.conflist";
  const path = join(options.confDir, name);
  const tmp = join(options.confDir, `.${name}.tmp`);
  await writeFile(tmp, `${JSON.stringify(conflist, null, 2)}\n`);
  await rename(tmp, path);
  for (const f of await readdir(options.confDir)) {
    if (f !== name && /\.(conf|conflist|json)$/.test(f)) await rm(join(options.confDir, f), { force: true });
  }
  return path;
}

/** Deletes the node bridge (the CNI bridge plugin creates it but never removes it). No-op when absent. */
export async function deleteBridge(bridge: string): Promise<void> {
  try {
    await execFileP("ip", ["link", "show", "dev", bridge]);
  } catch {
    return;
  }
  await execFileP("ip", ["link", "delete", "dev", bridge]);
}

/** Where Debian's containernetworking-plugins live. */
export const CNI_BIN_DIR = "/usr/lib/cni";

/** One pod's attachment: what CNI ADD/DEL needs besides the node's network options. */
export interface CniAttachment {
  /** Unique per pod (CNI_CONTAINERID; host-local records its lease under it). */
  containerId: string;
  /** Path of the pod's network namespace (e.g. /run/netns/<name>). */
  netns: string;
  ifName?: string;
  binDir?: string;
  /** Run the plugin niced (the WASM runtime's warm pool prepares networks ahead of need). */
  lowPriority?: boolean;
}

async function runPlugin(
  command: "ADD" | "DEL",
  type: string,
  config: Record<string, unknown>,
  attachment: CniAttachment,
): Promise<Record<string, unknown>> {
  const binDir = attachment.binDir ?? CNI_BIN_DIR;
  // Through the launcher shell, not a spawn of the agent's own (which stalls its event loop per pod).
  const plugin = join(binDir, type);
  const argv = attachment.lowPriority ? ["nice", "-n", "19", plugin] : [plugin];
  const { code, stdout } = await launcher.run(argv, {
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: attachment.containerId,
      CNI_NETNS: attachment.netns,
      CNI_IFNAME: attachment.ifName ?? "eth0",
      CNI_PATH: binDir,
    },
    input: JSON.stringify(config),
  });
  // CNI plugins report errors as JSON on stdout ({code, msg, details}).
  let result: Record<string, unknown> = {};
  try {
    result = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
  } catch {
    if (code === 0) throw new Error(`CNI ${command} ${type}: output is not JSON`);
  }
  if (code !== 0) throw new Error(`CNI ${command} ${type}: ${String(result.msg ?? `exit ${code}`)}`);
  return result;
}

/**
 * Runs CNI ADD of the conflist's `bridge` plugin (with host-local IPAM) on
 * eth0 of a pod netns the caller created and whose lo it brought up (the
 * `loopback` plugin's whole job). portmap is left out: nothing maps
 * hostPorts to these pods. Returns the pod's IPv4 address.
 */
export async function cniAdd(options: CniNetwork, attachment: CniAttachment): Promise<string> {
  const conflist = cniConflist(options);
  const base = { cniVersion: conflist.cniVersion, name: conflist.name };
  const bridge = (conflist.plugins as Record<string, unknown>[])[0];
  const result = await runPlugin("ADD", "bridge", { ...base, ...bridge }, attachment);
  const address = (result.ips as { address?: string }[] | undefined)?.[0]?.address;
  if (!address) throw new Error("CNI ADD bridge returned no IP address");
  return address.split("/")[0];
}

/** Runs CNI DEL for a pod: releases its IP (host-local) and its veth. Safe to call twice or for a gone netns. */
export async function cniDel(options: CniNetwork, attachment: CniAttachment): Promise<void> {
  const conflist = cniConflist(options);
  const bridge = (conflist.plugins as Record<string, unknown>[])[0];
  await runPlugin(
    "DEL",
    "bridge",
    { cniVersion: conflist.cniVersion, name: conflist.name, ...bridge },
    attachment,
  );
}
