/**
 * A throwaway network namespace standing in for a node (tests and the bench):
 * a veth holds "pod" addresses served by TCP echo servers that
 * answer with their own address, so the real kernel runs the proxy's nft
 * rules without touching the host's tables.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

// Servers: one per address, each answering "<address>:<port>\n" and closing.
const SERVERS = `
const net = require("node:net");
for (const a of process.argv.slice(1)) {
  const [host, port] = a.split(":");
  net.createServer((s) => { s.on("error", () => {}); s.end(a + "\\n"); }).listen(Number(port), host);
}
setInterval(() => {}, 1 << 30);
`;

// Client: connect `count` times to host:port and print one JSON line of answers and errors.
const CLIENT = `
const net = require("node:net");
const [host, port, count] = process.argv.slice(1);
const one = () => new Promise((resolve) => {
  const s = net.connect(Number(port), host);
  let data = "";
  s.setTimeout(3000, () => { s.destroy(); resolve("ETIMEDOUT"); });
  s.on("data", (d) => (data += d));
  s.on("end", () => resolve(data.trim()));
  s.on("error", (e) => resolve(e.code));
});
(async () => { const out = []; for (let i = 0; i < Number(count); i++) out.push(await one()); console.log(JSON.stringify(out)); })();
`;

/** A namespace with pod addresses on a dummy interface and services routed into it. */
export class TestNetns {
  readonly name = `ep-proxy-${randomBytes(3).toString("hex")}`;
  private servers?: ChildProcess;

  /** Creates the namespace with `addresses` (all /32 on dummy0, one end of a veth) and a route for the service range. */
  async create(addresses: string[], serviceCidr = "10.96.0.0/12"): Promise<void> {
    await execFileP("ip", ["netns", "add", this.name]);
    await this.exec(["ip", "link", "set", "lo", "up"]);
    // A veth pair (the dummy module may be missing; veth is there wherever CNI runs).
    await this.exec(["ip", "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1"]);
    await this.exec(["ip", "link", "set", "dummy1", "up"]);
    await this.exec(["ip", "link", "set", "dummy0", "up"]);
    for (const a of addresses) await this.exec(["ip", "addr", "add", `${a}/32`, "dev", "dummy0"]);
    await this.exec(["ip", "route", "add", serviceCidr, "dev", "dummy0"]);
  }

  /** Runs a command inside the namespace. */
  async exec(argv: string[]): Promise<string> {
    const { stdout } = await execFileP("ip", ["netns", "exec", this.name, ...argv]);
    return stdout;
  }

  /** Starts echo servers on `host:port` pairs; resolves once all accept connections. */
  async serve(endpoints: string[]): Promise<void> {
    this.servers = spawn("ip", ["netns", "exec", this.name, process.execPath, "-e", SERVERS, ...endpoints], {
      stdio: "ignore",
    });
    const deadline = Date.now() + 10_000;
    for (const ep of endpoints) {
      const [host, port] = ep.split(":");
      while ((await this.connect(host ?? "", Number(port), 1))[0] !== ep) {
        if (Date.now() > deadline) throw new Error(`echo server ${ep} did not come up`);
      }
    }
  }

  /** Opens `count` connections one after another; each answer is the endpoint's "ip:port" or an error code. */
  async connect(host: string, port: number, count: number): Promise<string[]> {
    const out = await this.exec([process.execPath, "-e", CLIENT, host, String(port), String(count)]);
    return JSON.parse(out) as string[];
  }

  /** Stops the servers and deletes the namespace (its tables go with it). */
  async remove(): Promise<void> {
    this.servers?.kill();
    await execFileP("ip", ["netns", "delete", this.name]).catch(() => {});
  }
}
