/**
 * Offline images, k3s's air-gap model: `busybox` is built from the host's
 * busybox-static with umoci (scripts/images/build.sh, cached) and pushed into
 * the built-in registry as library/busybox:latest and library/busybox:<version>.
 * Nodes mirror docker.io to the registry endpoint first, so `--image=busybox`
 * runs with no internet and still comes from Docker Hub where the mirror lacks a tag.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ClusterFetch } from "../lib/client.ts";
import { pushBlob, pushManifest } from "../lib/oci-push.ts";

const execFileP = promisify(execFile);

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

/** The busybox version from its banner ("BusyBox v1.35.0 (Debian ...)"), used as the pinned tag. */
export function busyboxVersion(banner: string): string | undefined {
  return /BusyBox v(\d+\.\d+\.\d+)/.exec(banner)?.[1];
}

/** Build (once) and push busybox; returns the references pushed. */
export async function pushOfflineImages(
  root: string,
  stateDir: string,
  fetcher: ClusterFetch,
): Promise<string[]> {
  const out = join(stateDir, "images");
  await execFileP("bash", [join(root, "scripts/images/build.sh"), out]);
  const layout = join(out, "oci");
  const blob = (digest: string) => readFile(join(layout, "blobs", ...digest.split(":")));
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const entry = index.manifests.find(
    (m) => m.annotations?.["org.opencontainers.image.ref.name"] === "busybox",
  );
  if (!entry) throw new Error(`no busybox image in ${layout}`);
  const manifest = JSON.parse((await blob(entry.digest)).toString("utf8")) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const repository = "library/busybox";
  for (const d of [manifest.config, ...manifest.layers])
    await pushBlob(fetcher, repository, new Uint8Array(await blob(d.digest)));
  // busybox --help prints the banner and exits 0; the binary the image holds is the one on PATH (build.sh).
  const { stdout } = await execFileP("busybox", ["--help"]).catch((e) => ({
    stdout: String(e.stdout ?? ""),
  }));
  const tags = ["latest", busyboxVersion(stdout)].filter((t): t is string => Boolean(t));
  for (const tag of tags) await pushManifest(fetcher, repository, tag, manifest, entry.mediaType);
  return tags.map((t) => `${repository}:${t}`);
}
