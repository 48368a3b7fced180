/**
 * The one Edgeplane version: the API server reports it (/version), the node
 * agent reports it as nodeInfo.kubeletVersion, and the agent bundle the
 * control plane serves (/join.sh) carries it, so all three move together.
 * The Kubernetes version it follows is its major.minor.patch.
 */
export const EDGEPLANE_VERSION = "v1.32.0-edgeplane";

/** How many minor versions an agent may lag the control plane (kube's kubelet skew policy). */
const AGENT_MAX_MINOR_LAG = 3;

/** [major, minor, patch] of "v1.32.0-anything", or undefined when it is not such a version. */
export function parseVersion(version: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * Why an agent of `agent` version may not join a control plane of `server`
 * version, or undefined when it may: never newer (kube's kubelet may not be
 * newer than the API server), at most AGENT_MAX_MINOR_LAG minors older.
 * A version that does not parse (another kubelet, a simulator) is not judged.
 */
export function agentSkewProblem(agent: string, server = EDGEPLANE_VERSION): string | undefined {
  const a = parseVersion(agent);
  const s = parseVersion(server);
  if (!a || !s) return undefined;
  const policy = `agents may be up to ${AGENT_MAX_MINOR_LAG} minor versions older than the control plane, never newer`;
  for (let i = 0; i < 3; i++) {
    if (a[i] > s[i]) return `agent ${agent} is newer than the control plane ${server}: ${policy}`;
    if (a[i] < s[i]) break;
  }
  if (a[0] < s[0] || s[1] - a[1] > AGENT_MAX_MINOR_LAG)
    return `agent ${agent} is too old for the control plane ${server}: ${policy}`;
  return undefined;
}
