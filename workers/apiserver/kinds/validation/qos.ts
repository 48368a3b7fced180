/** A pod's QoS class (pkg/apis/core/helper/qos), which the API server records in status.qosClass on create. */
import { parseQuantity } from "./quantity.ts";

type Obj = Record<string, unknown>;

/** "Guaranteed" when every container limits cpu and memory equal to its requests, "BestEffort" with none, else "Burstable". */
export function qosClass(spec: Obj): string {
  const containers = [...((spec.containers as Obj[]) ?? []), ...((spec.initContainers as Obj[]) ?? [])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const r = (c?.resources ?? {}) as { limits?: Obj; requests?: Obj };
    const limits = r.limits ?? {};
    const requests = { ...limits, ...(r.requests ?? {}) };
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const name of ["cpu", "memory"]) {
      const l = parseQuantity(limits[name]);
      if (l === undefined || l !== parseQuantity(requests[name])) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
