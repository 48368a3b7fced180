/**
 * The shape of pod/ (issue 12 item 6): no import cycle between its modules
 * (type-only imports included: a cycle of types still couples the files), and
 * no file long enough to hide more than one unit.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = dirname(fileURLToPath(import.meta.url));

/** Every .ts file under dir, absolute paths. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file that stay inside pod/, as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)"/gms)].map(
    (m) => m[1] ?? "",
  );
  return specs.map((s) => resolve(dirname(file), s)).filter((p) => p.startsWith(root));
}

/** One import cycle among the given files, as a path list, or undefined. */
function findCycle(all: string[]): string[] | undefined {
  const graph = new Map(all.map((f) => [f, importsOf(f)]));
  const done = new Set<string>();
  const visit = (f: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(f);
    if (at >= 0) return [...path.slice(at), f];
    if (done.has(f)) return undefined;
    for (const g of graph.get(f) ?? []) {
      const cycle = visit(g, [...path, f]);
      if (cycle) return cycle;
    }
    done.add(f);
    return undefined;
  };
  for (const f of all) {
    const cycle = visit(f, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("pod/ layout", () => {
  const sources = files(root).filter((f) => !f.endsWith(".test.ts"));

  it("has no import cycle (context.ts and probes.ts used to import each other)", () => {
    const cycle = findCycle(sources)?.map((f) => relative(root, f));
    expect(cycle).toBeUndefined();
  });

  it("keeps every file, tests included, under ~300 lines", () => {
    const long = files(root)
      .map((f) => ({ file: relative(root, f), lines: readFileSync(f, "utf8").split("\n").length }))
      .filter((f) => f.lines > 300);
    expect(long).toEqual([]);
  });
});
