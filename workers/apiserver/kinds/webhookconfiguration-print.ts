/** kubectl's table for both webhook configurations (printers: NAME WEBHOOKS AGE). */
import type { KubeObject } from "../../client/kube.ts";
import { col } from "./print.ts";

/** The WEBHOOKS column (AGE is added after it). */
export const webhookColumns = [
  col("Webhooks", "Webhooks indicates the number of webhooks.", { type: "integer" }),
];

/** The number of webhooks in a configuration. */
export function webhookRow(config: KubeObject): unknown[] {
  return [Array.isArray(config.webhooks) ? config.webhooks.length : 0];
}
