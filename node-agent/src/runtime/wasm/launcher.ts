/**
 * One long-lived /bin/sh that starts the agent's per-pod helper processes
 * (`ip`, the CNI plugins, the container shim) on the agent's behalf.
 *
 * Why: child_process.spawn blocks the agent's event loop until the child has
 * exec'd, i.e. a fork of the ~80 MiB agent plus the wait for the child to be
 * scheduled. On the shared 2-core machine a CPU profile of bench/pod-startup
 * put 6.8 s of the agent's 15.7 s in ChildProcess.spawn (four spawns per pod,
 * ~17 ms each), and every other pod's start queued behind it. Handing a line
 * to a small shell over a pipe costs the agent microseconds; the shell forks
 * cheaply and nothing it waits for stalls the agent.
 *
 * Each command runs in a double-forked background job, so the shell never
 * waits for one and never collects zombies: it prints "<id> <status>" (or
 * "<id> <pid>" for a detached start) on its stdout when done. The shell gets
 * only PATH in its environment (never the agent's token); a command's own
 * environment is set per line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

/** What a finished command left. */
export interface LaunchResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Quote one word for the launcher shell: single quotes, and a newline as "$NL" (the shell reads one
 * command per line, so no raw newline may reach it).
 */
export function shellQuote(word: string): string {
  if (word.includes("\0")) throw new Error("a NUL byte cannot be passed to a command");
  return `'${word.replace(/'/g, `'\\''`).replace(/\n/g, `'"$NL"'`)}'`;
}

function assignments(env: Record<string, string> = {}): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment name ${k}`);
      return `${k}=${shellQuote(v)} `;
    })
    .join("");
}

type Pending = { resolve: (line: string) => void; reject: (error: Error) => void };

/** The launcher shell and its pending commands. */
export class Launcher {
  private child?: ChildProcess;
  private dir?: string;
  private buffer = "";
  private next = 0;
  private readonly pending = new Map<number, Pending>();

  /** Run argv to completion (stdin from `input`); resolves with its exit status and output. */
  async run(
    argv: string[],
    options: { env?: Record<string, string>; input?: string } = {},
  ): Promise<LaunchResult> {
    const id = this.next++;
    const dir = this.workDir();
    const file = (ext: string) => shellQuote(join(dir, `${id}.${ext}`));
    if (options.input !== undefined) await writeFile(join(dir, `${id}.in`), options.input);
    const stdin = options.input !== undefined ? file("in") : "/dev/null";
    const command = `${assignments(options.env)}${argv.map(shellQuote).join(" ")}`;
    const line = await this.send(
      id,
      `( ( ${command} <${stdin} >${file("out")} 2>${file("err")}; echo "${id} $?" ) & )`,
    );
    const read = (ext: string) => readFile(join(dir, `${id}.${ext}`), "utf8").catch(() => "");
    const result = { code: Number(line), stdout: await read("out"), stderr: await read("err") };
    await Promise.all(["in", "out", "err"].map((ext) => rm(join(dir, `${id}.${ext}`), { force: true })));
    return result;
  }

  /**
   * Start argv detached in a session of its own (setsid: its pid leads its process group), stdin from
   * /dev/null, stdout and stderr appended to `outputPath`; resolves with its pid. It is not the agent's
   * child: it outlives the agent, and init reaps it.
   */
  async start(
    argv: string[],
    options: { env?: Record<string, string>; outputPath: string },
  ): Promise<number> {
    const id = this.next++;
    // The background job is no group leader (the shell has no job control), so setsid execs in place.
    // The pid is reported from inside, after that exec: a caller that reads /proc/<pid>/cmdline at once
    // sees argv's, never the launcher's own. fd 3 (the answer pipe) is closed before argv runs.
    const inner = shellQuote('echo "$0 $$" >&3; exec 3>&-; exec "$@"');
    const words = argv.map(shellQuote).join(" ");
    const line = await this.send(
      id,
      `( ${assignments(options.env)}setsid /bin/sh -c ${inner} ${id} ${words} 3>&1 </dev/null >>${shellQuote(options.outputPath)} 2>&1 & )`,
    );
    return Number(line);
  }

  /** The shell's pid while it runs (tests). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  private workDir(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), "edgeplane-launch-"));
    return this.dir;
  }

  private send(id: number, line: string): Promise<string> {
    const child = this.shell();
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.hold(true);
      (child.stdin as Writable).write(`${line}\n`);
    });
  }

  // Keep the agent alive only while a command is pending: an idle launcher must not hold a process open.
  private hold(on: boolean): void {
    const child = this.child;
    if (!child) return;
    const handles = [child, child.stdin, child.stdout] as unknown as { ref(): void; unref(): void }[];
    for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
  }

  private shell(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn("/bin/sh", ["-c", 'NL="\n"; while IFS= read -r l; do eval "$l"; done'], {
      stdio: ["pipe", "pipe", "ignore"],
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    this.child = child;
    (child.stdout as Readable).setEncoding("utf8");
    (child.stdout as Readable).on("data", (chunk: string) => this.receive(chunk));
    child.stdin?.on("error", () => {});
    const gone = () => {
      if (this.child !== child) return;
      this.child = undefined;
      this.buffer = "";
      const error = new Error("launcher shell exited");
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
    };
    child.on("error", gone);
    child.on("exit", gone);
    return child;
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf("\n");
    while (nl >= 0) {
      const [id, value] = this.buffer.slice(0, nl).split(" ");
      this.buffer = this.buffer.slice(nl + 1);
      const p = this.pending.get(Number(id));
      if (p) {
        this.pending.delete(Number(id));
        p.resolve(value ?? "");
      }
      nl = this.buffer.indexOf("\n");
    }
    if (this.pending.size === 0) this.hold(false);
  }

  /** Stop the shell (commands already started keep running) and remove its work directory. */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
    for (const p of this.pending.values()) p.reject(new Error("launcher closed"));
    this.pending.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** The agent's one launcher. */
export const launcher = new Launcher();

/** Run argv through the launcher and throw (with its stderr) unless it exits 0. */
export async function launch(argv: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  const result = await launcher.run(argv, options);
  if (result.code !== 0)
    throw new Error(`${argv[0]} ${argv[1] ?? ""}: exit ${result.code}: ${result.stderr.trim().slice(-512)}`);
  return result;
}
