/** core/v1 ConfigMap: data/binaryData keys, base64 binaryData, 1 MiB, immutable. */
import type { ConfigMap } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { col, count } from "./print.ts";
import { validateDataMap, validateImmutableData, validateTotalSize } from "./validation/data.ts";
import { invalid } from "./validation/errors.ts";

/** The ConfigMap strategy. */
export const configMapStrategy: Strategy<ConfigMap> = {
  validate(cm) {
    const data = validateDataMap(cm.data, "data", false);
    const binary = validateDataMap(cm.binaryData, "binaryData", true);
    const errs = [...data.errs, ...binary.errs];
    for (const key of Object.keys((cm.binaryData as object) ?? {})) {
      if (cm.data && Object.hasOwn(cm.data as object, key))
        errs.push(invalid(`data[${key}]`, key, "duplicate of key present in binaryData"));
    }
    errs.push(...validateTotalSize(data.bytes + binary.bytes, "data"));
    return errs;
  },
  validateUpdate: (cm, old) => validateImmutableData(cm, old, ["data", "binaryData"]),
  specChanged: () => false,
  columns: [col("Data", "Data contains the configuration data.", { type: "integer" })],
  row: (cm) => [count(cm.data) + count(cm.binaryData)],
};
