/**
 * The source layers run one way (README, "Architecture"): read the
 * imports of every source file and check who may import whom. A rule broken
 * here is a dependency pointing up the stack, which the type checker accepts.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Every .ts file under `dir` (relative to the repo root), tests included unless `sourceOnly`. */
function files(dir: string, sourceOnly = false): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    if (sourceOnly && entry.name.endsWith(".test.ts")) continue;
    out.push(relative(ROOT, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

/** The repo-relative files a source file imports (relative specifiers only; packages are not layers). */
function imports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    const specifier =
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier
        ? node.moduleSpecifier
        : ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword
          ? node.arguments[0]
          : undefined;
    if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith("."))
      out.push(relative(ROOT, resolve(ROOT, dirname(file), specifier.text)));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** `file → target` for each import of the files under `dir` that `allowed` refuses. */
function violations(dir: string, allowed: (target: string, file: string) => boolean): string[] {
  return files(dir).flatMap((file) =>
    imports(file)
      .filter((target) => !allowed(target, file))
      .map((target) => `${file} → ${target}`),
  );
}

describe("layers", () => {
  it("durable-objects/store and tunnel import nothing from workers/ but the shared client layer", () => {
    const allowed = (target: string) =>
      !target.startsWith("workers/") || target.startsWith("workers/client/");
    expect(violations("durable-objects/store", allowed)).toEqual([]);
    expect(violations("durable-objects/tunnel", allowed)).toEqual([]);
  });

  it("keeps the Durable Object classes in one place: durable-objects/<name>/object.ts", () => {
    const classes = files("durable-objects", true).flatMap((file) =>
      [
        ...readFileSync(join(ROOT, file), "utf8").matchAll(/^export class (\w+) extends DurableObject\b/gm),
      ].map((m) => `${file}: ${m[1]}`),
    );
    expect(classes).toEqual([
      "durable-objects/controller-manager/object.ts: ControllerManager",
      "durable-objects/metrics/object.ts: MetricsObject",
      "durable-objects/store/object.ts: StoreObject",
      "durable-objects/tunnel/object.ts: TunnelObject",
    ]);
    // workers/ holds no Durable Object class of its own.
    const inWorkers = files("workers", true).filter((file) =>
      /^export class \w+ extends DurableObject\b/m.test(readFileSync(join(ROOT, file), "utf8")),
    );
    expect(inWorkers).toEqual([]);
  });

  it("workers/client, the bottom layer, imports nothing else of the project", () => {
    expect(violations("workers/client", (target) => target.startsWith("workers/client/"))).toEqual([]);
  });

  it("keeps the Worker-side tunnel route in workers/ and only Durable Objects in durable-objects/tunnel", () => {
    expect(files("durable-objects/tunnel", true)).toEqual([
      "durable-objects/tunnel/object.ts",
      "durable-objects/tunnel/protocol.ts",
    ]);
  });

  it("passes schema services in: no module-level let or setter in the API server's wiring and schema code", () => {
    const wiring = [
      "workers/apiserver/index.ts",
      "workers/apiserver/app.ts",
      "workers/apiserver/fields.ts",
      ...files("workers/apiserver/openapi", true),
    ];
    const found = wiring.flatMap((file) => {
      const text = readFileSync(join(ROOT, file), "utf8");
      return [...text.matchAll(/^(?:let |export let |export function set[A-Z]\w*)/gm)].map(
        (m) => `${file}: ${m[0]}`,
      );
    });
    expect(found).toEqual([]);
  });

  it("has no dead exports in durable-objects/ and workers/ (scripts/dead-exports.mjs)", () => {
    const run = spawnSync(process.execPath, ["scripts/dead-exports.mjs", "durable-objects", "workers"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.stdout.split("\n").filter(Boolean)).toEqual([]);
    expect(run.status).toBe(0);
  });
});
