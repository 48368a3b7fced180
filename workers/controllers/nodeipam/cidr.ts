/**
 * IPv4 CIDR arithmetic for the node IPAM controller: the cluster CIDR cut
 * into equal per-node blocks, addressed by index (kube's cidrset).
 */

/** The cluster CIDR split into `count` blocks of /`maskSize`. */
export interface CidrSet {
  /** First address of the cluster CIDR, as an unsigned 32-bit number. */
  base: number;
  maskSize: number;
  count: number;
  cidr: string;
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Parse "a.b.c.d/n" into its network address and prefix length, or undefined if it is not IPv4 CIDR. */
function parseIpv4Cidr(cidr: string): { base: number; bits: number } | undefined {
  const [ip, bitsText, extra] = cidr.split("/");
  const addr = ipToInt(ip ?? "");
  const bits = Number(bitsText);
  if (extra !== undefined || addr === undefined || !/^\d{1,2}$/.test(bitsText ?? "") || bits > 32)
    return undefined;
  const size = 2 ** (32 - bits);
  return { base: addr - (addr % size), bits };
}

/** The per-node blocks of `clusterCidr`; throws (a configuration error) if the mask does not fit it. */
export function cidrSet(clusterCidr: string, maskSize: number): CidrSet {
  const parsed = parseIpv4Cidr(clusterCidr);
  if (!parsed) throw new Error(`cluster CIDR ${JSON.stringify(clusterCidr)} is not an IPv4 CIDR`);
  // kube refuses more than 2^16 blocks per set; so do we (the scan is linear).
  if (!Number.isInteger(maskSize) || maskSize < parsed.bits || maskSize > 32 || maskSize - parsed.bits > 16)
    throw new Error(`node CIDR mask size ${maskSize} does not fit cluster CIDR ${clusterCidr}`);
  return { base: parsed.base, maskSize, count: 2 ** (maskSize - parsed.bits), cidr: clusterCidr };
}

/** The CIDR text of block `index`. */
export function blockCidr(set: CidrSet, index: number): string {
  return `${intToIp(set.base + index * 2 ** (32 - set.maskSize))}/${set.maskSize}`;
}

/** Which block `cidr` is, or undefined if it is not exactly one block of the set (foreign, other size). */
export function blockIndex(set: CidrSet, cidr: string): number | undefined {
  const parsed = parseIpv4Cidr(cidr);
  if (!parsed || parsed.bits !== set.maskSize) return undefined;
  const offset = parsed.base - set.base;
  const size = 2 ** (32 - set.maskSize);
  if (offset < 0 || offset >= set.count * size) return undefined;
  return offset / size;
}
