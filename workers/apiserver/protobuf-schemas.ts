/**
 * Protobuf field numbers (k8s.io/api generated.proto): the table types, and
 * the messages several kinds share (ObjectMeta, LabelSelector, PodTemplate).
 * Each kind kubectl's typed `create` subcommands send (configmap, secret,
 * namespace, serviceaccount, deployment, job, cronjob, service, role(binding),
 * clusterrole(binding)) has its own table beside it (kinds/<kind>.proto.ts),
 * registered as its row's `protobuf`. Fields not listed are skipped on decode.
 *
 * Types: "string" | "bytes" | "int" | "int0" (0 omitted: non-pointer ints) | "bool" (false omitted, as JSON's omitempty
 * would) | "keepbool" (false kept: pointer fields) | "map" | "bytesmap" |
 * "quantitymap" | "strings" | "intorstring" | a nested schema | [schema] for repeated messages. A nested schema
 * named "" is inlined: its fields land in the parent (Go's embedded structs with `json:",inline"`).
 */

/** A decoded field's type. */
export type FieldType =
  | "string"
  | "bytes"
  | "int"
  | "int0"
  | "bool"
  | "keepbool"
  | "map"
  | "bytesmap"
  | "quantitymap"
  | "strings"
  | "intorstring"
  | Schema
  | [Schema];

/** Field number → [JSON name, type]. */
export interface Schema {
  [field: number]: [name: string, type: FieldType];
}

/** metav1.ObjectMeta: the fields a client sends on create. */
export const OBJECT_META: Schema = {
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  7: ["generation", "int0"],
  11: ["labels", "map"],
  12: ["annotations", "map"],
  14: ["finalizers", "strings"],
};

/** metav1.LabelSelector. */
export const LABEL_SELECTOR: Schema = {
  1: ["matchLabels", "map"],
  2: ["matchExpressions", [{ 1: ["key", "string"], 2: ["operator", "string"], 3: ["values", "strings"] }]],
};

const CONTAINER: Schema = {
  1: ["name", "string"],
  2: ["image", "string"],
  3: ["command", "strings"],
  4: ["args", "strings"],
  5: ["workingDir", "string"],
  6: [
    "ports",
    [
      {
        1: ["name", "string"],
        2: ["hostPort", "int0"],
        3: ["containerPort", "int"],
        4: ["protocol", "string"],
      },
    ],
  ],
  7: ["env", [{ 1: ["name", "string"], 2: ["value", "string"] }]],
  8: ["resources", { 1: ["limits", "quantitymap"], 2: ["requests", "quantitymap"] }],
  13: ["terminationMessagePath", "string"],
  14: ["imagePullPolicy", "string"],
  16: ["stdin", "bool"],
  17: ["stdinOnce", "bool"],
  18: ["tty", "bool"],
  20: ["terminationMessagePolicy", "string"],
};

const POD_SPEC: Schema = {
  2: ["containers", [CONTAINER]],
  3: ["restartPolicy", "string"],
  4: ["terminationGracePeriodSeconds", "int"],
  6: ["dnsPolicy", "string"],
  7: ["nodeSelector", "map"],
  8: ["serviceAccountName", "string"],
  10: ["nodeName", "string"],
  19: ["schedulerName", "string"],
  20: ["initContainers", [CONTAINER]],
  24: ["priorityClassName", "string"],
  29: ["runtimeClassName", "string"],
};

/** core/v1 PodTemplateSpec (with the PodSpec fields kubectl create sets). */
export const POD_TEMPLATE: Schema = { 1: ["metadata", OBJECT_META], 2: ["spec", POD_SPEC] };
