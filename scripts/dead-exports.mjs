#!/usr/bin/env node
/**
 * Lists exports that nothing imports: for every .ts/.mts/.mjs/.js file of the
 * repo (tests, scripts and benches included), parse its imports and re-exports
 * with the TypeScript compiler and mark the names each one takes from each
 * module; an export of a file under the given roots that no file takes is
 * printed as `path: name`. A type or interface the file itself still uses
 * (in the signature of another export) is not reported: callers may need to
 * name it. Entry points (the Worker's module, test workers) are skipped.
 * Exits 1 when anything is printed.
 *
 *   node scripts/dead-exports.mjs [--exclude dir]... [root ...]   (default roots: durable-objects workers)
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP_DIRS = new Set(["node_modules", ".git", ".wrangler", "build", "dist", ".local"]);
const SOURCE = /\.(ts|tsx|mts|mjs|js)$/;
/** Modules whose exports the platform reads, not other files. */
const ENTRIES = new Set(["workers/index.ts", "durable-objects/store/testing/worker.ts"]);

/** Every source file of the repo, relative to its root. */
function walk(dir, out = []) {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(path, out);
    else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** The repo file a relative specifier names, or undefined (packages, missing files). */
function resolveSpecifier(from, specifier) {
  if (!specifier.startsWith(".")) return undefined;
  const base = relative(ROOT, resolve(ROOT, dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`])
    if (existsSync(join(ROOT, candidate)) && SOURCE.test(candidate)) return candidate;
  return undefined;
}

const files = walk("");
/** file → names other files take from it ("*" = all of them). */
const taken = new Map();
const take = (file, name) => {
  if (!taken.has(file)) taken.set(file, new Set());
  taken.get(file).add(name);
};
/** file → its exported names. */
const exported = new Map();
/** file → its text (for the "used locally" check). */
const texts = new Map();

for (const file of files) {
  const text = readFileSync(join(ROOT, file), "utf8");
  texts.set(file, text);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const names = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const target = resolveSpecifier(file, node.moduleSpecifier.text);
      const clause = node.importClause;
      if (target && clause) {
        if (clause.name) take(target, "default");
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) take(target, "*");
        else if (bindings)
          for (const element of bindings.elements) take(target, (element.propertyName ?? element.name).text);
      } else if (target) take(target, "*"); // side-effect import: keep everything
    } else if (ts.isExportDeclaration(node)) {
      const target =
        node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)
          ? resolveSpecifier(file, node.moduleSpecifier.text)
          : undefined;
      if (!node.exportClause) {
        if (target) take(target, "*");
      } else if (ts.isNamedExports(node.exportClause)) {
        for (const element of node.exportClause.elements) {
          names.push({ name: element.name.text, type: false });
          if (target) take(target, (element.propertyName ?? element.name).text);
        }
      } else if (target) take(target, "*");
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      const target = resolveSpecifier(file, node.arguments[0].text);
      if (target) take(target, "*");
    } else if (ts.isExportAssignment(node)) names.push({ name: "default", type: false });
    else if (node.parent === source && ts.canHaveModifiers(node)) {
      const modifiers = ts.getModifiers(node) ?? [];
      if (modifiers.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
        const type = ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node);
        if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword))
          names.push({ name: "default", type: false });
        else if (ts.isVariableStatement(node))
          for (const d of node.declarationList.declarations) {
            if (ts.isIdentifier(d.name)) names.push({ name: d.name.text, type: false });
          }
        else if (node.name && ts.isIdentifier(node.name)) names.push({ name: node.name.text, type });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  exported.set(file, names);
}

const args = process.argv.slice(2);
const excluded = args.flatMap((arg, i) => (args[i - 1] === "--exclude" ? [arg] : []));
const roots = args.filter((arg, i) => arg !== "--exclude" && args[i - 1] !== "--exclude");
const scope = roots.length > 0 ? roots : ["durable-objects", "workers"];
const under = (file, dir) => file === dir || file.startsWith(`${dir}/`);
let dead = 0;
for (const file of files) {
  if (!scope.some((root) => under(file, root)) || excluded.some((dir) => under(file, dir))) continue;
  if (ENTRIES.has(file) || file.endsWith(".test.ts")) continue;
  const used = taken.get(file) ?? new Set();
  if (used.has("*")) continue;
  for (const { name, type } of exported.get(file) ?? []) {
    if (used.has(name)) continue;
    const uses = texts.get(file).match(new RegExp(`\\b${name}\\b`, "g"))?.length ?? 0;
    if (type && uses > 1) continue;
    console.log(`${file}: ${name}${uses > 1 ? " (used locally: drop the export keyword)" : ""}`);
    dead++;
  }
}
process.exit(dead > 0 ? 1 : 0);
