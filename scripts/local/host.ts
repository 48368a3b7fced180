/**
 * Host checks before starting: the Debian packages the project lists
 * (scripts/debian-packages.txt, installed by scripts/setup-host.sh when we
 * may), and the commands `npm start` itself cannot do without.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Debian packages from scripts/debian-packages.txt that are not installed (empty off Debian). */
export function missingPackages(root: string): string[] {
  if (spawnSync("dpkg-query", ["--version"], { stdio: "ignore" }).status !== 0) return [];
  const wanted = readFileSync(join(root, "scripts/debian-packages.txt"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
  return wanted.filter((pkg) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    return !(r.stdout ?? "").includes("install ok installed");
  });
}

/** Whether a command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Run scripts/setup-host.sh with its output shown; false when it failed. */
export function runSetupHost(root: string): boolean {
  return spawnSync("bash", [join(root, "scripts/setup-host.sh")], { stdio: "inherit" }).status === 0;
}
