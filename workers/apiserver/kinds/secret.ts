/**
 * core/v1 Secret: stringData folded into data on every write (as the v1
 * conversion does), base64 data, per-type required keys, immutability.
 */

import type { Secret } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { col, count } from "./print.ts";
import { obj } from "./util.ts";
import {
  encodeBase64,
  validateDataMap,
  validateImmutableData,
  validateTotalSize,
} from "./validation/data.ts";
import { checkImmutable, invalid, required } from "./validation/errors.ts";

/** Keys each well-known secret type must carry (any one of them for basic-auth). */
const REQUIRED_KEYS: Record<string, { keys: string[]; any?: boolean }> = {
  "kubernetes.io/dockercfg": { keys: [".dockercfg"] },
  "kubernetes.io/dockerconfigjson": { keys: [".dockerconfigjson"] },
  "kubernetes.io/basic-auth": { keys: ["username", "password"], any: true },
  "kubernetes.io/ssh-auth": { keys: ["ssh-privatekey"] },
  "kubernetes.io/tls": { keys: ["tls.crt", "tls.key"] },
};

function typeErrors(secret: Secret): FieldError[] {
  const type = secret.type as string;
  const data = obj(secret.data);
  const errs: FieldError[] = [];
  if (
    type === "kubernetes.io/service-account-token" &&
    !secret.metadata?.annotations?.["kubernetes.io/service-account.name"]
  )
    errs.push(required("metadata.annotations[kubernetes.io/service-account.name]"));
  const rule = REQUIRED_KEYS[type];
  if (rule) {
    const missing = rule.keys.filter((k) => !data[k]);
    if (rule.any ? missing.length === rule.keys.length : missing.length > 0)
      for (const k of missing) errs.push(required(`data[${k}]`));
  }
  if (type === "kubernetes.io/dockerconfigjson" && typeof data[".dockerconfigjson"] === "string") {
    try {
      JSON.parse(
        new TextDecoder().decode(
          Uint8Array.from(atob(data[".dockerconfigjson"] as string), (c) => c.charCodeAt(0)),
        ),
      );
    } catch {
      errs.push(invalid("data[.dockerconfigjson]", "<secret contents redacted>", "must be valid JSON"));
    }
  }
  return errs;
}

/** The Secret strategy. */
export const secretStrategy: Strategy<Secret> = {
  defaults(secret) {
    if (!secret.type) secret.type = "Opaque";
    if (secret.stringData && typeof secret.stringData === "object") {
      const data = { ...obj(secret.data) };
      for (const [k, v] of Object.entries(secret.stringData as Record<string, unknown>))
        data[k] = encodeBase64(String(v ?? ""));
      // Not validated yet: data may hold non-strings, which validate() reports.
      Reflect.set(secret, "data", data);
      delete secret.stringData;
    }
  },
  validate(secret) {
    const { errs, bytes } = validateDataMap(secret.data, "data", true);
    errs.push(...validateTotalSize(bytes, "data"));
    if (errs.length === 0) errs.push(...typeErrors(secret));
    return errs;
  },
  validateUpdate: (secret, old) => [
    ...checkImmutable(secret.type, old.type, "type"),
    ...validateImmutableData(secret, old, ["data"]),
  ],
  specChanged: () => false,
  columns: [
    col("Type", "The type of the secret"),
    col("Data", "The number of entries in the secret", { type: "integer" }),
  ],
  row: (secret) => [secret.type ?? "Opaque", count(secret.data)],
  fieldSelectors: { type: (s) => (s.type as string) ?? "" },
};
