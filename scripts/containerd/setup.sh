#!/usr/bin/env bash
# Installs and configures a private containerd for an Edgeplane node agent.
# Idempotent. Needs root.
#
#   scripts/containerd/setup.sh [--data-dir DIR] [--pod-cidr CIDR] [--bridge NAME]
#                               [--registry HOST=URL]... [--insecure-registry HOST]...
#                               [--run]
#
# 1. installs the Debian packages the project lists (containerd, runc, CNI
#    plugins, umoci, skopeo, busybox-static...) via scripts/setup-host.sh;
# 2. builds the sandbox (pause) and busybox images locally (no internet);
# 3. writes DIR/config.toml (own root/state/socket, runc, CRI with
#    restrict_oom_score_adj, CNI in /usr/lib/cni, registry hosts) and the CNI
#    bridge config for the pod CIDR;
# 4. with --run: starts containerd in the foreground (for a service manager)
#    and imports the pause image once its socket answers.
# The agent's `--containerd=managed` mode does 2-4 itself; this script is for
# running containerd separately and pointing the agent at its socket.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA_DIR=/var/lib/edgeplane/containerd
RUN=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    --run) RUN=1; shift ;;
    --pod-cidr|--bridge|--registry|--insecure-registry) ARGS+=("$1" "$2"); shift 2 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "setup.sh: containerd needs root" >&2; exit 1; }

bash scripts/setup-host.sh
bash scripts/images/build.sh "$DATA_DIR/images"
npx --no-install tsx node-agent/src/runtime/cri/setup-cli.ts --data-dir "$DATA_DIR" "${ARGS[@]}"

if [ "$RUN" -eq 1 ]; then
  containerd --config "$DATA_DIR/config.toml" &
  pid=$!
  trap 'kill -TERM $pid; wait $pid' TERM INT
  for _ in $(seq 1 100); do
    ctr --address "$DATA_DIR/containerd.sock" version >/dev/null 2>&1 && break
    sleep 0.1
  done
  ctr --address "$DATA_DIR/containerd.sock" --namespace k8s.io images import "$DATA_DIR/images/pause.tar" >/dev/null
  wait $pid
fi
