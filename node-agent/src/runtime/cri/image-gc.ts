/**
 * Image garbage collection, as kubelet's image manager does it: when the
 * image filesystem is fuller than a high threshold, remove images no
 * container uses, least recently used first, until usage is under the low
 * threshold. Usage comes from ImageFsInfo's mountpoint (statfs).
 */
import { statfs } from "node:fs/promises";
import type { CriClient } from "./client.ts";
import { DEFAULT_SANDBOX_IMAGE } from "./containerd.ts";
import type { CriImage } from "./messages.ts";

/** Thresholds and protections for one GC pass. */
export interface ImageGcOptions {
  /** Collect when usage is above this percentage (kubelet's default 85). */
  highThresholdPercent?: number;
  /** Collect down to this percentage (kubelet's default 80). */
  lowThresholdPercent?: number;
  /** Images never removed (the sandbox image by default). */
  protect?: string[];
  /** Filesystem usage; defaults to statfs of the image filesystem ImageFsInfo names. */
  usage?: (mountpoint: string) => Promise<{ capacityBytes: number; availableBytes: number }>;
}

/** What a GC pass saw and did. */
export interface ImageGcResult {
  usagePercent: number;
  /** Ids of removed images. */
  removed: string[];
  freedBytes: number;
}

async function statfsUsage(mountpoint: string): Promise<{ capacityBytes: number; availableBytes: number }> {
  const s = await statfs(mountpoint);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}

function names(image: CriImage): string[] {
  return [image.id, ...image.repoTags, ...image.repoDigests];
}

/** One GC pass. `lastUsed` maps image id → epoch ms of last use; unknown images count as oldest. */
export async function collectImages(
  client: CriClient,
  lastUsed: ReadonlyMap<string, number>,
  options: ImageGcOptions = {},
): Promise<ImageGcResult> {
  const high = options.highThresholdPercent ?? 85;
  const low = options.lowThresholdPercent ?? 80;
  const fs = (await client.imageFsInfo())[0];
  const mountpoint = fs?.fsId?.mountpoint;
  if (!mountpoint) return { usagePercent: 0, removed: [], freedBytes: 0 };
  const { capacityBytes, availableBytes } = await (options.usage ?? statfsUsage)(mountpoint);
  const usedBytes = capacityBytes - availableBytes;
  const usagePercent = capacityBytes > 0 ? (usedBytes * 100) / capacityBytes : 0;
  if (usagePercent <= high) return { usagePercent, removed: [], freedBytes: 0 };

  let toFree = usedBytes - (capacityBytes * low) / 100;
  const inUse = new Set<string>();
  for (const c of await client.listContainers()) {
    if (c.imageRef) inUse.add(c.imageRef);
    if (c.image?.image) inUse.add(c.image.image);
  }
  const protect = new Set(options.protect ?? [DEFAULT_SANDBOX_IMAGE]);
  const candidates = (await client.listImages())
    .filter((img) => !img.pinned && !names(img).some((n) => inUse.has(n) || protect.has(n)))
    .sort((a, b) => (lastUsed.get(a.id) ?? 0) - (lastUsed.get(b.id) ?? 0));

  const removed: string[] = [];
  let freedBytes = 0;
  for (const img of candidates) {
    if (toFree <= 0) break;
    await client.removeImage(img.id);
    removed.push(img.id);
    const size = Number(img.size);
    freedBytes += size;
    toFree -= size;
  }
  return { usagePercent, removed, freedBytes };
}
