/**
 * A CRD's schema node: kubernetes-types' JSONSchemaProps plus the
 * x-kubernetes-* extensions it leaves out, recursively.
 */
import type { JSONSchemaProps } from "kubernetes-types/apiextensions/v1.js";

/** One node of a structural schema, as CRDs carry it. */
export interface SchemaProps
  extends Omit<
    JSONSchemaProps,
    "properties" | "items" | "additionalProperties" | "allOf" | "anyOf" | "oneOf" | "not"
  > {
  properties?: Record<string, SchemaProps>;
  allOf?: SchemaProps[];
  anyOf?: SchemaProps[];
  oneOf?: SchemaProps[];
  not?: SchemaProps;
  items?: SchemaProps | SchemaProps[];
  additionalProperties?: SchemaProps | boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "granular" | "atomic";
  "x-kubernetes-validations"?: unknown[];
}
