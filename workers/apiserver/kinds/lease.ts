/** coordination.k8s.io/v1 Lease: node heartbeats and leader election; HOLDER column. */
import type { Lease } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { specDiffers } from "./status.ts";
import { obj } from "./util.ts";
import { nonNegativeInt, oneOf, positiveInt } from "./validation/numbers.ts";

/** The Lease strategy. */
export const leaseStrategy: Strategy<Lease> = {
  validate(lease) {
    const spec = obj(lease.spec);
    return [
      ...positiveInt(spec.leaseDurationSeconds, "spec.leaseDurationSeconds"),
      ...nonNegativeInt(spec.leaseTransitions, "spec.leaseTransitions"),
      ...oneOf(spec.strategy, ["OldestEmulationVersion"], "spec.strategy"),
    ];
  },
  specChanged: specDiffers,
  columns: [col("Holder", "The holder of the lease.")],
  row: (lease) => [lease.spec?.holderIdentity ?? ""],
};
