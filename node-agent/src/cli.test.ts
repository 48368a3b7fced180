import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCli, TOKEN_ENV } from "./cli.ts";

describe("node-agent token sources", () => {
  const dir = mkdtempSync(join(tmpdir(), "ep-cli-"));
  const file = join(dir, "token");
  writeFileSync(file, "abcdef.0123456789abcdef\n", { mode: 0o600 });
  const base = ["--server", "https://cp.example"];

  it("reads --token-file (0600) and the environment without warnings", () => {
    const fromFile = parseCli([...base, "--token-file", file]);
    expect(fromFile.token).toBe("abcdef.0123456789abcdef");
    expect(fromFile.warnings).toEqual([]);
    const fromEnv = parseCli(base, { [TOKEN_ENV]: "abcdef.0123456789abcdef" });
    expect(fromEnv.token).toBe("abcdef.0123456789abcdef");
    expect(fromEnv.warnings).toEqual([]);
  });

  it("warns for --token (deprecated: argv is public) and for a token file others can read", () => {
    const inline = parseCli([...base, "--token", "abcdef.0123456789abcdef"]);
    expect(inline.token).toBe("abcdef.0123456789abcdef");
    expect(inline.warnings.join()).toMatch(/--token is deprecated/);
    const open = join(dir, "open");
    writeFileSync(open, "t\n");
    chmodSync(open, 0o644);
    expect(parseCli([...base, "--token-file", open]).warnings.join()).toMatch(/readable by group or others/);
  });

  it("refuses no token and more than one source", () => {
    expect(() => parseCli(base)).toThrow(/token is required/);
    expect(() => parseCli([...base, "--token-file", file], { [TOKEN_ENV]: "x" })).toThrow(
      /give the token once/,
    );
  });
});

describe("--registry-mirror", () => {
  const base = ["--server", "https://cp.example"];
  const env = { [TOKEN_ENV]: "abcdef.0123456789abcdef" };

  it("collects mirrors per registry, in order", () => {
    const o = parseCli(
      [...base, "--registry-mirror", "docker.io=127.0.0.1:6500,docker.io=m.example,quay.io=q.example"],
      env,
    );
    expect(o.registryMirrors).toEqual({
      "docker.io": ["127.0.0.1:6500", "m.example"],
      "quay.io": ["q.example"],
    });
    expect(parseCli(base, env).registryMirrors).toEqual({});
  });

  it("refuses a mirror without both sides", () => {
    expect(() => parseCli([...base, "--registry-mirror", "docker.io"], env)).toThrow(/bad --registry-mirror/);
    expect(() => parseCli([...base, "--registry-mirror", "docker.io="], env)).toThrow(
      /bad --registry-mirror/,
    );
  });
});

describe("--pod-manifest-path", () => {
  const env = { [TOKEN_ENV]: "abcdef.0123456789abcdef" };
  const base = ["--server", "https://cp.example", "--data-dir", "/var/lib/ep/n1"];

  it("defaults to <data-dir>/manifests and can be set", () => {
    expect(parseCli(base, env).podManifestPath).toBe("/var/lib/ep/n1/manifests");
    expect(parseCli([...base, "--pod-manifest-path", "/etc/ep/manifests"], env).podManifestPath).toBe(
      "/etc/ep/manifests",
    );
  });
});

describe("--api-proxy-cert/--api-proxy-key", () => {
  const env = { [TOKEN_ENV]: "abcdef.0123456789abcdef" };
  const base = ["--server", "https://cp.example", "--service-proxy"];

  it("takes both files with the service proxy, and refuses one alone or no service proxy", () => {
    expect(
      parseCli([...base, "--api-proxy-cert", "/p/c.crt", "--api-proxy-key", "/p/c.key"], env).apiProxy,
    ).toEqual({
      certFile: "/p/c.crt",
      keyFile: "/p/c.key",
    });
    expect(parseCli(base, env).apiProxy).toBeUndefined();
    expect(() => parseCli([...base, "--api-proxy-cert", "/p/c.crt"], env)).toThrow(/go together/);
    expect(() =>
      parseCli(["--server", "https://cp.example", "--api-proxy-cert", "/c", "--api-proxy-key", "/k"], env),
    ).toThrow(/needs --service-proxy/);
  });
});

describe("--cluster-cidr/--service-cidr", () => {
  const env = { [TOKEN_ENV]: "abcdef.0123456789abcdef" };
  const base = ["--server", "https://cp.example", "--service-proxy"];

  it("pass IPv4 CIDRs to the proxy and refuse anything else (they end up in nft scripts)", () => {
    expect(
      parseCli([...base, "--cluster-cidr", "10.244.0.0/16", "--service-cidr", "10.96.0.0/12"], env)
        .serviceProxy,
    ).toEqual({ clusterCidr: "10.244.0.0/16", serviceCidr: "10.96.0.0/12" });
    expect(() => parseCli([...base, "--service-cidr", "10.96.0.0/16; flush ruleset"], env)).toThrow(
      /--service-cidr must be an IPv4 CIDR/,
    );
    expect(() => parseCli([...base, "--cluster-cidr", "any"], env)).toThrow(/--cluster-cidr must be/);
  });

  it("takes the metrics push period in seconds (default 15, 0 = off) and refuses anything else", () => {
    expect(parseCli(base, env).metricsIntervalMs).toBe(15_000);
    expect(parseCli([...base, "--metrics-interval", "0"], env).metricsIntervalMs).toBe(0);
    expect(parseCli([...base, "--metrics-interval", "2.5"], env).metricsIntervalMs).toBe(2500);
    for (const bad of ["-1", "soon"])
      expect(() => parseCli([...base, `--metrics-interval=${bad}`], env)).toThrow(
        /--metrics-interval must be/,
      );
  });
});

describe("--metrics-bind-address", () => {
  const env = { [TOKEN_ENV]: "abcdef.0123456789abcdef" };
  const base = ["--server", "https://cp.example"];
  it("defaults to loopback 10255, may be turned off with an empty value, and refuses what is not HOST:PORT", () => {
    expect(parseCli(base, env).metricsBindAddress).toBe("127.0.0.1:10255");
    expect(parseCli([...base, "--metrics-bind-address", "[::1]:9100"], env).metricsBindAddress).toBe(
      "[::1]:9100",
    );
    expect(parseCli([...base, "--metrics-bind-address", ""], env).metricsBindAddress).toBe("");
    expect(() => parseCli([...base, "--metrics-bind-address", "10255"], env)).toThrow(/HOST:PORT/);
  });
});

describe("--wasm-netns-pool", () => {
  const env = { [TOKEN_ENV]: "abcdef.0123456789abcdef" };
  const base = ["--server", "https://cp.example"];
  it("leaves the default to the runtime, takes 0 (off) or a small count, and refuses anything else", () => {
    expect(parseCli(base, env).wasmNetnsPool).toBeUndefined();
    expect(parseCli([...base, "--wasm-netns-pool", "0"], env).wasmNetnsPool).toBe(0);
    expect(parseCli([...base, "--wasm-netns-pool", "8"], env).wasmNetnsPool).toBe(8);
    for (const bad of ["-1", "many", "1.5", "100"])
      expect(() => parseCli([...base, `--wasm-netns-pool=${bad}`], env)).toThrow(/--wasm-netns-pool must be/);
  });
});
