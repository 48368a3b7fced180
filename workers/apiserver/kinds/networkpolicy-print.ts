/** kubectl's table for NetworkPolicy (printNetworkPolicy): NAME, POD-SELECTOR, AGE. */
import { formatLabelSelector } from "../../client/labels.ts";
import type { LabelSelector, NetworkPolicy } from "../../client/types.ts";
import type { ColumnDefinition } from "../registry/types.ts";
import { col } from "./print.ts";

/** The columns after NAME (AGE is added last). */
export const networkPolicyColumns: ColumnDefinition[] = [
  col(
    "Pod-Selector",
    "podSelector selects the pods to which this NetworkPolicy object applies. An empty podSelector selects all pods in the namespace.",
  ),
];

/** The cells of one NetworkPolicy. */
export function networkPolicyRow(np: NetworkPolicy): unknown[] {
  return [formatLabelSelector(np.spec?.podSelector as LabelSelector | undefined)];
}
