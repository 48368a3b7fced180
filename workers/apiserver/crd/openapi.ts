/**
 * The OpenAPI v3 component schema of a custom resource version, as kube's
 * apiextensions builder publishes it: the CRD's schema plus apiVersion,
 * kind, metadata (a reference to ObjectMeta) and the GVK extension, with
 * int-or-string nodes unfolded so `kubectl explain` prints them.
 */
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
} from "kubernetes-types/apiextensions/v1.js";
import type { SchemaProps as JSONSchemaProps } from "./types.ts";

const OBJECT_META = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/** The component name: the group reversed, then version and kind ("com.example.stable.v1.CronTab"). */
export function modelName(group: string, version: string, kind: string): string {
  return `${group.split(".").reverse().join(".")}.${version}.${kind}`;
}

/** A copy of the schema for publishing: int-or-string nodes get kube's anyOf. */
function publish(schema: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = { ...schema };
  if (schema["x-kubernetes-int-or-string"] === true && !schema.anyOf)
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  if (schema.properties)
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, publish(v)]));
  if (schema.items && typeof schema.items === "object" && !Array.isArray(schema.items))
    out.items = publish(schema.items as JSONSchemaProps);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object")
    out.additionalProperties = publish(schema.additionalProperties as JSONSchemaProps);
  return out;
}

/** The component schema of one version of a CRD's kind. */
export function customResourceOpenAPI(
  crd: CustomResourceDefinition,
  version: CustomResourceDefinitionVersion,
  schema: JSONSchemaProps,
): Record<string, unknown> {
  const published = publish(schema);
  return {
    ...published,
    type: "object",
    properties: {
      ...((published.properties as Record<string, unknown> | undefined) ?? {}),
      apiVersion: {
        type: "string",
        description:
          "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
      },
      kind: {
        type: "string",
        description:
          "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
      },
      metadata: {
        allOf: [{ $ref: OBJECT_META }],
        description:
          "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
      },
    },
    "x-kubernetes-group-version-kind": [
      { group: crd.spec.group, version: version.name, kind: crd.spec.names.kind },
    ],
  };
}
