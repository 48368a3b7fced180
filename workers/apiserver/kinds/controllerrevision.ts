/** apps/v1 ControllerRevision: immutable snapshots of a StatefulSet/DaemonSet template (rollout history). */

import type { ControllerRevision } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { checkImmutable, required } from "./validation/errors.ts";
import { nonNegativeInt } from "./validation/numbers.ts";

function controller(rev: ControllerRevision): string {
  const owner = rev.metadata?.ownerReferences?.find((o) => o.controller);
  if (!owner) return "<none>";
  const group = owner.apiVersion.includes("/") ? owner.apiVersion.split("/")[0] : "";
  return `${owner.kind.toLowerCase()}${group ? `.${group}` : ""}/${owner.name}`;
}

/** The ControllerRevision strategy. */
export const controllerRevisionStrategy: Strategy<ControllerRevision> = {
  validate(rev) {
    const errs =
      rev.revision === undefined ? [required("revision")] : nonNegativeInt(rev.revision, "revision");
    return errs;
  },
  validateUpdate: (rev, old) => checkImmutable(rev.data, old.data, "data"),
  specChanged: () => false,
  columns: [
    col("Controller", "Controller of the object"),
    col("Revision", "Revision indicates the revision of the state represented by Data.", { type: "integer" }),
  ],
  row: (rev) => [controller(rev), rev.revision ?? 0],
};
