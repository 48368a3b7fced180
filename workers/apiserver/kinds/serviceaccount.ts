/** core/v1 ServiceAccount: little more than a name; SECRETS counts its listed secrets. */
import type { ServiceAccount } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { list } from "./util.ts";
import { invalid, required } from "./validation/errors.ts";

/** The ServiceAccount strategy. */
export const serviceAccountStrategy: Strategy<ServiceAccount> = {
  validate(sa) {
    const errs = list(sa.secrets).flatMap((s, i) => (s.name ? [] : [required(`secrets[${i}].name`)]));
    if (sa.automountServiceAccountToken !== undefined && typeof sa.automountServiceAccountToken !== "boolean")
      errs.push(
        invalid("automountServiceAccountToken", sa.automountServiceAccountToken, "must be a boolean"),
      );
    return errs;
  },
  specChanged: () => false,
  columns: [
    col(
      "Secrets",
      "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
      { type: "integer" },
    ),
  ],
  row: (sa) => [list(sa.secrets).length],
};
