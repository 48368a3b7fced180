/**
 * CIDR parsing for both families (netutils.ParseCIDRSloppy's job): NetworkPolicy
 * ipBlocks are validated with it in the API server and matched with it in the
 * node agent, so both read a block the same way.
 */

/** A parsed CIDR: the address family, the (masked) network as a bigint, and the prefix length. */
export interface Cidr {
  family: 4 | 6;
  /** The address as written, as a number (not masked). */
  ip: bigint;
  /** The network: `ip` with the host bits cleared. */
  network: bigint;
  bits: number;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** An IPv4 or IPv6 address as a number, or undefined when malformed. */
export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  const m = V4.exec(text);
  if (m) {
    let value = 0n;
    for (const part of m.slice(1)) {
      // Leading zeros are read as decimal, as netutils' "sloppy" parsing of legacy fields does.
      if (Number(part) > 255) return undefined;
      value = (value << 8n) | BigInt(part);
    }
    return { family: 4, value };
  }
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIp(p);
        if (v4?.family !== 4) return undefined;
        out.push(Number(v4.value >> 16n), Number(v4.value & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(Number.parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let value = 0n;
  for (const g of [...head, ...new Array<number>(missing).fill(0), ...tail])
    value = (value << 16n) | BigInt(g);
  return { family: 6, value };
}

/** A CIDR ("10.0.0.0/8", "2001:db8::/32"), or undefined when malformed. */
export function parseCidr(text: unknown): Cidr | undefined {
  if (typeof text !== "string") return undefined;
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefix)) return undefined;
  const bits = Number(prefix);
  const width = ip.family === 4 ? 32 : 128;
  if (bits > width) return undefined;
  const host = (1n << BigInt(width - bits)) - 1n;
  return { family: ip.family, ip: ip.value, network: ip.value & ~host, bits };
}

/** Whether `inner`'s address lies in `outer` (same family). */
export function cidrContains(outer: Cidr, address: { family: 4 | 6; value: bigint }): boolean {
  if (outer.family !== address.family) return false;
  const width = outer.family === 4 ? 32 : 128;
  return address.value >> BigInt(width - outer.bits) === outer.network >> BigInt(width - outer.bits);
}

/** An IPv4 address (as parseIp returns it) in dotted-quad form. */
export function formatIp4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
}

/** An IPv4 network in dotted-quad form with its prefix ("10.0.0.0/8"): what nft is given, whatever was written. */
export function formatCidr4(cidr: Cidr): string {
  return `${formatIp4(cidr.network)}/${cidr.bits}`;
}
