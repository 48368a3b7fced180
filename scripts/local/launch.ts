/**
 * Runs `npm start` the way a user does, for end-to-end tests: in its own
 * process group (like a terminal's foreground job), with a temp state dir and
 * a free port, waiting on its output rather than on time.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { descendants, type ProcessInfo } from "./process-tree.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A running `npm start`. */
export interface Launched {
  child: ChildProcess;
  /** Resolves with the exit code when npm start exits. */
  exit: Promise<number | null>;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Resolve with the first match of `pattern` in the output; reject on exit or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The launcher's processes right now (npm, node, workerd, agents and theirs). */
  tree(): ProcessInfo[];
  /**
   * Send `signal` to the process group, as Ctrl-C does; resolves with npm's
   * exit code, or the signal's name when npm itself died of it (npm re-raises
   * SIGINT once its child has exited).
   */
  interrupt(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string | null>;
  /** Send `signal` to the npm process alone, as a process manager does; resolves like interrupt(). */
  signalNpm(signal: NodeJS.Signals, timeoutMs?: number): Promise<number | string | null>;
}

/** Start `npm start -- <args>` from the repository root. */
export function launchNpmStart(args: string[], env: NodeJS.ProcessEnv = {}): Launched {
  const child = spawn("npm", ["start", "--", ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    // Any free ingress port unless the test names one: the default 8443 is taken when two test files run
    // npm start side by side (their control-plane and registry ports are already --port 0).
    env: { ...process.env, EDGEPLANE_INGRESS_PORT: "0", ...env },
  });
  let text = "";
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const w of waiters) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  let how: number | string | null = null;
  const exited = new Promise<number | null>((res) =>
    child.once("exit", (code, signal) => {
      how = code ?? signal;
      res(code);
    }),
  );
  let done = false;
  exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });

  const waitFor = (pattern: RegExp, timeoutMs = 120_000) =>
    new Promise<RegExpMatchArray>((res, rej) => {
      const timer = setTimeout(
        () => finish(new Error(`timed out waiting for ${pattern}\n${text}`)),
        timeoutMs,
      );
      const check = () => {
        const m = text.match(pattern);
        if (m) finish(undefined, m);
        else if (done) finish(new Error(`npm start exited before ${pattern}\n${text}`));
      };
      const finish = (error?: Error, m?: RegExpMatchArray) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (error) rej(error);
        else res(m!);
      };
      waiters.add(check);
      check();
    });

  return {
    child,
    exit: exited,
    output: () => text,
    waitFor,
    tree: () => (child.pid ? descendants(child.pid) : []),
    interrupt: (signal = "SIGINT", timeoutMs = 60_000) => deliver(signal, timeoutMs, true),
    signalNpm: (signal, timeoutMs = 60_000) => deliver(signal, timeoutMs, false),
  };

  async function deliver(signal: NodeJS.Signals, timeoutMs: number, group: boolean) {
    if (!done && child.pid) process.kill(group ? -child.pid : child.pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`npm start did not exit after ${signal}\n${text}`)), timeoutMs);
    });
    try {
      await Promise.race([exited, timeout]);
      return how;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Path of a file in the repository. */
export function repoPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}
