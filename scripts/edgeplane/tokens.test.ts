/** The join-token helpers: TTLs as kubeadm writes them, the table, and the printed join command. */
import { describe, expect, it } from "vitest";
import { formatTokens, joinCommand, parseTtl } from "./tokens.ts";

describe("join tokens", () => {
  it("parses kubeadm's --ttl durations and refuses others", () => {
    expect(parseTtl("24h")).toBe(86_400_000);
    expect(parseTtl("2h30m")).toBe(9_000_000);
    expect(parseTtl("90s")).toBe(90_000);
    expect(parseTtl("0")).toBe(0);
    for (const bad of ["", "1d", "-1h", "h", "24"]) expect(() => parseTtl(bad)).toThrow(/bad --ttl/);
  });

  it("lists expiry without ever showing a secret", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const table = formatTokens(
      [
        { id: "abcdef", node: "n1", expiration: "2026-01-02T00:00:00Z", description: "d" },
        { id: "ghijkl", node: "n2", expiration: "2025-12-31T00:00:00Z" },
        { id: "mnopqr", node: "" },
      ],
      now,
    ).split("\n");
    expect(table[0]).toMatch(/^TOKEN ID\s+NODE\s+TTL\s+EXPIRES\s+DESCRIPTION$/);
    expect(table[1]).toMatch(/^abcdef\s+n1\s+24h\s+2026-01-02T00:00:00Z\s+d$/);
    expect(table[2]).toContain("<expired>");
    expect(table[3]).toMatch(/^mnopqr\s+<none>\s+<forever>\s+<never>$/);
  });

  it("prints a plain curl | sh for a public certificate, and a checked script plus CA pin for a private CA", () => {
    const base = { server: "https://cp.example", node: "n1", token: "abcdef.0123456789abcdef" };
    expect(joinCommand(base)).toBe(
      "curl -fsSL https://cp.example/join.sh | sh -s -- --server https://cp.example --name n1 --token abcdef.0123456789abcdef",
    );
    const pinned = joinCommand({ ...base, caHash: `sha256:${"a".repeat(64)}`, scriptSha256: "b".repeat(64) });
    expect(pinned).toContain(`echo "${"b".repeat(64)}  $f" | sha256sum -c --quiet`);
    expect(pinned).toMatch(/--ca-hash sha256:a{64}$/);
  });
});
