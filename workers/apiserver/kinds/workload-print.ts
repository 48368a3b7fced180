/** Cells shared by the workload printers: counts from status, and the wide CONTAINERS/IMAGES/SELECTOR. */
import { formatLabelSelector } from "../../client/labels.ts";
import type { LabelSelector } from "../../client/types.ts";
import type { ColumnDefinition } from "../registry/types.ts";
import { col, containersAndImages } from "./print.ts";
import { obj } from "./util.ts";

/** A number from status (0 when unset). */
export function statusInt(object: { status?: object }, field: string): number {
  return Number(obj(object.status)[field] ?? 0);
}

/** A number from spec, with a default. */
export function specInt(object: { spec?: object }, field: string, fallback = 0): number {
  return Number(obj(object.spec)[field] ?? fallback);
}

/** The wide columns CONTAINERS, IMAGES, SELECTOR. */
export const TEMPLATE_COLUMNS: ColumnDefinition[] = [
  col("Containers", "Names of each container in the template.", { wide: true }),
  col("Images", "Images referenced by each container in the template.", { wide: true }),
  col(
    "Selector",
    "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
    { wide: true },
  ),
];

/** Cells for TEMPLATE_COLUMNS of an object with spec.template and spec.selector. */
export function templateCells(object: { spec?: object }, templateSpec?: unknown): string[] {
  const spec = obj(object.spec);
  const [names, images] = containersAndImages(templateSpec ?? obj(spec.template).spec);
  return [names, images, formatLabelSelector(spec.selector as LabelSelector | undefined)];
}
