/**
 * Where a workerd CPU profile's time went, by part of the control plane. The
 * Worker is one esbuild bundle (workers/index.js) whose `// <path>` comments
 * mark each source file, so a frame's line number names its source file
 * without a source map. Reading a profile by hand does not say "is the thread
 * saturated, and by whom"; this does, in a few lines a bench can print.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
/** The parts of a .cpuprofile this reads (V8's Profiler.stop result). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The part of the control plane a source file belongs to. */
function area(file: string): string {
  if (file.includes("node_modules/")) return "libraries";
  if (file.startsWith("durable-objects/store/")) return "store";
  if (file.startsWith("durable-objects/tunnel/") || file.startsWith("workers/tunnel/")) return "tunnel";
  if (file.startsWith("durable-objects/metrics/") || file.startsWith("workers/metrics/")) return "metrics";
  if (
    /^(durable-objects\/controller-manager|workers\/(controllers|scheduler|manager|reconcile))\//.test(file)
  )
    return "controllers";
  if (file.startsWith("workers/apiserver/")) return "api";
  return "other";
}

/** Line (0-based) → source file, from the bundle's `// path` module comments. */
function fileIndex(bundle: string): (line: number) => string {
  const starts: { line: number; file: string }[] = [];
  bundle.split("\n").forEach((text, line) => {
    const m = /^\/\/ ([\w@./-]+\.(?:ts|js|mjs))$/.exec(text);
    if (m) starts.push({ line, file: m[1].replace(/^(\.\.\/)+(main\/)?/, "") });
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found = "";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid].line <= line) {
        found = starts[mid].file;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/** Shares (0–1) of the profile's wall time. */
export interface ProfileShares {
  wallMs: number;
  /** Time the thread had nothing to run: below ~10 % the thread is saturated. */
  idle: number;
  gc: number;
  /** By the part whose code ran (self time): api, store, controllers, libraries, runtime ... */
  self: Record<string, number>;
  /** By the part that was entered first on the stack (who the work was for): api, store, controllers ... */
  owner: Record<string, number>;
}

/** Attribute every sample of `profile` (of the Worker bundled as `bundle`) to a part. */
export function summarizeProfile(profile: CpuProfile, bundle: string): ProfileShares {
  const fileOf = fileIndex(bundle);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === "(idle)") return "idle";
    if (functionName === "(garbage collector)") return "gc";
    if (!url.endsWith("workers/index.js")) return "runtime";
    return area(fileOf(lineNumber));
  };
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const self: Record<string, number> = {};
  const owner: Record<string, number> = {};
  const add = (into: Record<string, number>, key: string, ms: number) => {
    into[key] = (into[key] ?? 0) + ms / wallMs;
  };
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const leaf = byId.get(id);
    if (!leaf) return;
    const part = partOf(leaf);
    add(self, part, ms);
    // Outermost frame of our own code (not a library, not the runtime) on the stack.
    let outer = part;
    for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const p = partOf(n);
      if (!["runtime", "libraries", "other", "idle", "gc"].includes(p)) outer = p;
    }
    add(owner, outer, ms);
  });
  return { wallMs, idle: self.idle ?? 0, gc: self.gc ?? 0, self, owner };
}

/** One line per view, parts by share, e.g. `api 31% store 22% ...`. */
export function formatShares(shares: Record<string, number>): string {
  return Object.entries(shares)
    .sort((a, b) => b[1] - a[1])
    .filter(([, v]) => v >= 0.005)
    .map(([k, v]) => `${k} ${(v * 100).toFixed(0)}%`)
    .join("  ");
}
