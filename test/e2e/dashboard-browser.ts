/**
 * Headless Chromium for the dashboard's e2e test and bench: Debian's
 * /usr/bin/chromium (scripts/debian-packages.txt) driven by playwright-core,
 * which downloads no browser of its own. The flags keep Chromium off the
 * network it cannot reach here (no background fetches, no QUIC, no sync).
 *
 * Chromium runs in a network namespace of its own. Other tests on this host
 * add and remove interfaces all the time (pod netns, veths, bridges), and
 * Chromium aborts loads in flight when it sees an address change
 * (ERR_NETWORK_CHANGED, a navigation "interrupted by chrome-error://"). In
 * its own namespace it sees none of that. It reaches the control plane
 * through a forwarder: 127.0.0.1:PORT inside the namespace → a Unix socket
 * (filesystem, so not namespaced) → 127.0.0.1:PORT on the host. Same URL,
 * same certificate, raw TCP, so TLS and WebSocket pass through unchanged.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** Where setup-host.sh installs Debian's chromium. */
export const CHROMIUM = process.env.EDGEPLANE_CHROMIUM ?? "/usr/bin/chromium";

/** A browser in its own network namespace, and how it reaches host ports. */
export interface IsolatedBrowser {
  browser: Browser;
  /** Make `url`'s 127.0.0.1 port on the host reachable at the same URL from the browser. */
  reach(url: string): Promise<void>;
  close(): Promise<void>;
}

/** Pipe two sockets together; either side's end or error ends both. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
}

// Runs inside the namespace: listen on 127.0.0.1:PORT, pass each connection to the Unix socket.
const IN_NAMESPACE = `
const net = require("node:net");
const [port, path] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(path);
  c.pipe(u).pipe(c);
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
}).listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\\n"));
`;

/** Launch headless Chromium in a fresh network namespace, or fail saying what is missing. */
export async function launchChromium(): Promise<IsolatedBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (bash scripts/setup-host.sh)`);
  const ns = `ep-chromium-${process.pid}-${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), "ep-chromium-"));
  execFileSync("ip", ["netns", "add", ns]);
  const servers: Server[] = [];
  const forwarders: ChildProcess[] = [];
  const close = async () => {
    for (const f of forwarders) f.kill();
    for (const s of servers) s.close();
    try {
      execFileSync("ip", ["netns", "del", ns]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    // playwright runs an executable with its arguments; this one enters the namespace first.
    const wrapper = join(dir, "chromium");
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
    });
    const reach = async (url: string) => {
      const { hostname, port } = new URL(url);
      if (hostname !== "127.0.0.1") throw new Error(`the browser reaches 127.0.0.1 only, not ${hostname}`);
      const path = join(dir, `port-${port}.sock`);
      const server = createServer((s) => splice(s, connect(Number(port), "127.0.0.1")));
      servers.push(server);
      server.listen(path);
      await once(server, "listening");
      const forwarder = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", IN_NAMESPACE, port, path], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      forwarders.push(forwarder);
      const [ready] = await Promise.race([
        once(forwarder.stdout!, "data"),
        once(forwarder, "exit").then(([code]) => {
          throw new Error(`forwarder into ${ns} exited with ${code}`);
        }),
      ]);
      if (!String(ready).includes("ready")) throw new Error(`forwarder into ${ns}: ${ready}`);
    };
    return {
      browser,
      reach,
      close: async () => {
        await browser.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
