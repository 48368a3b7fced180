/**
 * Owner-only permissions for the local state dir: directories 0700 and
 * files 0600, set with chmod after creating them, so the umask (which only
 * narrows a create mode, and may be 000 or 077) decides nothing. Files that
 * workerd creates later inside a 0700 directory are out of other users' reach.
 */
import { chmod, lstat, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Create `path` (and missing parents) and make it 0700. */
export async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

/** Write `content` to `path` and make it 0600 (also when it existed with wider permissions). */
export async function privateFile(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** Make every directory under `dir` 0700 and every regular file 0600; symlinks are left alone, not followed. */
export async function restrictTree(dir: string): Promise<void> {
  const stat = await lstat(dir).catch(() => undefined);
  if (!stat) return;
  if (stat.isDirectory()) {
    await chmod(dir, 0o700);
    for (const entry of await readdir(dir)) await restrictTree(join(dir, entry));
  } else if (stat.isFile()) {
    await chmod(dir, 0o600);
  }
}
