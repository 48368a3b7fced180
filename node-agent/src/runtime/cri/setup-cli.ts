/**
 * `tsx node-agent/src/runtime/cri/setup-cli.ts --data-dir DIR [--pod-cidr CIDR]
 *  [--bridge NAME] [--registry HOST=URL]... [--insecure-registry HOST]...`
 *
 * Writes a private containerd's config.toml, registry hosts and the CNI
 * config under DIR (what scripts/containerd/setup.sh runs), then prints how
 * to start containerd and point the agent at it.
 */
import { parseArgs } from "node:util";
import { DEFAULT_BRIDGE, DEFAULT_POD_CIDR, writeCniConfig } from "../../network/cni.ts";
import { type RegistryHost, writeContainerdConfig } from "./containerd.ts";

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string", default: "/var/lib/edgeplane/containerd" },
    "pod-cidr": { type: "string", default: DEFAULT_POD_CIDR },
    bridge: { type: "string", default: DEFAULT_BRIDGE },
    registry: { type: "string", multiple: true, default: [] },
    "insecure-registry": { type: "string", multiple: true, default: [] },
  },
});

const dataDir = values["data-dir"];
const registries: RegistryHost[] = [
  ...values.registry.map((r) => {
    const [host, server] = r.split("=", 2);
    return { host, server };
  }),
  ...values["insecure-registry"].map((host) => ({ host, insecure: true })),
];
const paths = await writeContainerdConfig({ dataDir, registries });
await writeCniConfig({
  confDir: paths.cniConfDir,
  podCidr: values["pod-cidr"],
  bridge: values.bridge,
  ipamDataDir: `${dataDir}/cni-ipam`,
});
console.log(`wrote ${paths.configPath} and ${paths.cniConfDir}`);
console.log(`start containerd:  containerd --config ${paths.configPath}`);
console.log(
  `run the agent with: --runtimes wasm,cri --containerd ${paths.socket} --cni-conf-dir ${paths.cniConfDir}`,
);
