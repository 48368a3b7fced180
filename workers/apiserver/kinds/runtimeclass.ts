/** node.k8s.io/v1 RuntimeClass: which runtime handler (wasm, runc) pods of this class use. */
import type { RuntimeClass } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { checkImmutable } from "./validation/errors.ts";
import { validateDNS1123Label } from "./validation/names.ts";

/** The RuntimeClass strategy. */
export const runtimeClassStrategy: Strategy<RuntimeClass> = {
  validate: (rc) => validateDNS1123Label(rc.handler, "handler"),
  validateUpdate: (rc, old) => checkImmutable(rc.handler, old.handler, "handler"),
  specChanged: () => false,
  columns: [
    col(
      "Handler",
      "Handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.",
    ),
  ],
  row: (rc) => [rc.handler ?? ""],
};
