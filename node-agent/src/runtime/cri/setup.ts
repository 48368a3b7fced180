/**
 * Bringing the container runtime up for the node agent: either start a
 * private containerd (`--containerd=managed`) or use an existing CRI socket,
 * make sure the sandbox (pause) image is there, write the CNI config for the
 * node's pod CIDR, and hand back a CriRuntime. The agent calls `setupCri`
 * once at start and `setPodCidr` when its Node's spec.podCIDR is known.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_BRIDGE, DEFAULT_POD_CIDR, writeCniConfig } from "../../network/cni.ts";
import {
  DEFAULT_SANDBOX_IMAGE,
  ensureSandboxImage,
  type ManagedContainerd,
  type RegistryHost,
  startContainerd,
  writeMirrorHost,
  writeRegistryHost,
} from "./containerd.ts";
import { CriRuntime } from "./index.ts";

const execFileP = promisify(execFile);

/** The image build script (busybox-static + umoci), relative to this module. */
const BUILD_SCRIPT = new URL("../../../../scripts/images/build.sh", import.meta.url).pathname;

/** Options for `setupCri` (the agent's `--containerd`, `--pod-cidr`, `--allow-privileged`... flags). */
export interface CriSetupOptions {
  /** "managed" starts a private containerd under <dataDir>/containerd; anything else is an existing CRI socket path. */
  containerd: string;
  /** The agent's data directory. */
  dataDir: string;
  /** Pod CIDR until the Node's spec.podCIDR is known (default 10.244.0.0/24). */
  podCidr?: string;
  /** Node bridge name (default edgeplane0). */
  bridge?: string;
  /** CNI config dir of an existing containerd (managed: <dataDir>/containerd/cni/net.d). Unset + existing socket = leave CNI alone. */
  cniConfDir?: string;
  /** Registries needing a hosts.toml (managed mode; loopback registries need none). */
  registries?: RegistryHost[];
  /** Registry mirrors, e.g. { "docker.io": ["127.0.0.1:6500"] }: tried in order before the registry itself (managed mode). */
  mirrors?: Record<string, string[]>;
  /** OCI archive of the sandbox image; default: built by scripts/images/build.sh into <dataDir>/images. */
  sandboxImageArchive?: string;
  sandboxImage?: string;
  allowPrivileged?: boolean;
  cgroupRoot?: string;
  snapshotter?: "overlayfs" | "native";
  /** How often unused images are garbage-collected when the image filesystem is full (default 5 min; 0 = never). */
  imageGcIntervalMs?: number;
  /** Where GC failures are reported (default console.warn). */
  log?: (message: string) => void;
}

/** A ready container runtime and its lifecycle. */
export interface CriSetup {
  runtime: CriRuntime;
  socket: string;
  /** Writes the CNI config for this pod CIDR (containerd reloads it for new sandboxes). No-op without a CNI dir. */
  setPodCidr(cidr: string): Promise<void>;
  /** Adds a registry's hosts.toml (managed mode only; e.g. the control plane's own HTTPS registry). */
  addRegistry(reg: RegistryHost): Promise<void>;
  /** Closes the runtime and stops a managed containerd; running containers keep running under their shims. */
  close(): Promise<void>;
}

/** Starts or connects to containerd and returns the runtime; see CriSetupOptions. */
export async function setupCri(options: CriSetupOptions): Promise<CriSetup> {
  const managed = options.containerd === "managed";
  const containerdDir = join(options.dataDir, "containerd");
  const cniConfDir = managed
    ? (options.cniConfDir ?? join(containerdDir, "cni", "net.d"))
    : options.cniConfDir;
  const setPodCidr = async (cidr: string) => {
    if (!cniConfDir) return;
    await writeCniConfig({
      confDir: cniConfDir,
      podCidr: cidr,
      bridge: options.bridge ?? DEFAULT_BRIDGE,
      ipamDataDir: join(options.dataDir, "cni-ipam"),
    });
  };
  // containerd reports NetworkReady only once a CNI config exists.
  await setPodCidr(options.podCidr ?? DEFAULT_POD_CIDR);

  let child: ManagedContainerd | undefined;
  let socket = options.containerd;
  if (managed) {
    child = await startContainerd({
      dataDir: containerdDir,
      cniConfDir,
      registries: options.registries,
      sandboxImage: options.sandboxImage,
      snapshotter: options.snapshotter,
    });
    socket = child.socket;
    for (const [registry, hosts] of Object.entries(options.mirrors ?? {}))
      await writeMirrorHost(child.paths.certsDir, registry, hosts);
  }
  try {
    let archive = options.sandboxImageArchive;
    if (!archive) {
      const out = join(options.dataDir, "images");
      await execFileP("bash", [BUILD_SCRIPT, out]);
      archive = join(out, "pause.tar");
    }
    await ensureSandboxImage(
      socket,
      archive,
      options.sandboxImage ?? DEFAULT_SANDBOX_IMAGE,
      options.snapshotter,
    );
  } catch (err) {
    await child?.stop();
    throw err;
  }
  const runtime = new CriRuntime({
    endpoint: socket,
    allowPrivileged: options.allowPrivileged,
    cgroupRoot: options.cgroupRoot,
  });
  const gcEvery = options.imageGcIntervalMs ?? 5 * 60_000;
  const log = options.log ?? ((m: string) => console.warn(m));
  const gcTimer =
    gcEvery > 0
      ? setInterval(() => {
          runtime.garbageCollectImages().then(
            (r) =>
              r.removed.length &&
              log(`cri: image GC removed ${r.removed.length} image(s), ${r.freedBytes} bytes`),
            (err) => log(`cri: image GC failed: ${(err as Error).message}`),
          );
        }, gcEvery)
      : undefined;
  // The timer must not keep an otherwise finished agent process alive.
  gcTimer?.unref();
  return {
    runtime,
    socket,
    setPodCidr,
    async addRegistry(reg) {
      if (child) await writeRegistryHost(child.paths.certsDir, reg);
    },
    async close() {
      if (gcTimer) clearInterval(gcTimer);
      await runtime.close();
      await child?.stop();
    },
  };
}
