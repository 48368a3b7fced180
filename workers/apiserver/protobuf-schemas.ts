/**
 * Protobuf field numbers (k8s.io/api generated.proto) for the objects kubectl's
 * typed `create` subcommands send: configmap, secret, namespace, serviceaccount,
 * deployment, job, cronjob, service, role(binding), clusterrole(binding).
 * One table, keyed by @kubernetes/client-node model name. Fields not listed
 * are skipped on decode.
 *
 * Types: "string" | "bytes" | "int" | "int0" (0 omitted: non-pointer ints) | "bool" (false omitted, as JSON's omitempty
 * would) | "keepbool" (false kept: pointer fields) | "map" | "bytesmap" |
 * "quantitymap" | "strings" | "intorstring" | a nested schema | [schema] for repeated messages.
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

const OBJECT_META: Schema = {
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

const LABEL_SELECTOR: Schema = {
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

const POD_TEMPLATE: Schema = { 1: ["metadata", OBJECT_META], 2: ["spec", POD_SPEC] };

const JOB_SPEC: Schema = {
  1: ["parallelism", "int"],
  2: ["completions", "int"],
  3: ["activeDeadlineSeconds", "int"],
  4: ["selector", LABEL_SELECTOR],
  6: ["template", POD_TEMPLATE],
  7: ["backoffLimit", "int"],
  8: ["ttlSecondsAfterFinished", "int"],
  9: ["completionMode", "string"],
  10: ["suspend", "keepbool"],
};

const POLICY_RULE: Schema = {
  1: ["verbs", "strings"],
  2: ["apiGroups", "strings"],
  3: ["resources", "strings"],
  4: ["resourceNames", "strings"],
  5: ["nonResourceURLs", "strings"],
};

const BINDING: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "subjects",
    [{ 1: ["kind", "string"], 2: ["apiGroup", "string"], 3: ["name", "string"], 4: ["namespace", "string"] }],
  ],
  3: ["roleRef", { 1: ["apiGroup", "string"], 2: ["kind", "string"], 3: ["name", "string"] }],
};

/** Field numbers per model. */
export const PROTOBUF_MODELS: Record<string, Schema> = {
  V1ConfigMap: {
    1: ["metadata", OBJECT_META],
    2: ["data", "map"],
    3: ["binaryData", "bytesmap"],
    4: ["immutable", "keepbool"],
  },
  V1Secret: {
    1: ["metadata", OBJECT_META],
    2: ["data", "bytesmap"],
    3: ["type", "string"],
    4: ["stringData", "map"],
    5: ["immutable", "keepbool"],
  },
  V1Namespace: { 1: ["metadata", OBJECT_META], 2: ["spec", { 1: ["finalizers", "strings"] }] },
  V1ServiceAccount: {
    1: ["metadata", OBJECT_META],
    3: ["imagePullSecrets", [{ 1: ["name", "string"] }]],
    4: ["automountServiceAccountToken", "keepbool"],
  },
  V1Deployment: {
    1: ["metadata", OBJECT_META],
    2: [
      "spec",
      {
        1: ["replicas", "int"],
        2: ["selector", LABEL_SELECTOR],
        3: ["template", POD_TEMPLATE],
        4: ["strategy", { 1: ["type", "string"] }],
        5: ["minReadySeconds", "int"],
        6: ["revisionHistoryLimit", "int"],
        9: ["progressDeadlineSeconds", "int"],
      },
    ],
  },
  V1Job: { 1: ["metadata", OBJECT_META], 2: ["spec", JOB_SPEC] },
  V1CronJob: {
    1: ["metadata", OBJECT_META],
    2: [
      "spec",
      {
        1: ["schedule", "string"],
        2: ["startingDeadlineSeconds", "int"],
        3: ["concurrencyPolicy", "string"],
        4: ["suspend", "keepbool"],
        5: ["jobTemplate", { 1: ["metadata", OBJECT_META], 2: ["spec", JOB_SPEC] }],
        6: ["successfulJobsHistoryLimit", "int"],
        7: ["failedJobsHistoryLimit", "int"],
        8: ["timeZone", "string"],
      },
    ],
  },
  V1Service: {
    1: ["metadata", OBJECT_META],
    2: [
      "spec",
      {
        1: [
          "ports",
          [
            {
              1: ["name", "string"],
              2: ["protocol", "string"],
              3: ["port", "int"],
              4: ["targetPort", "intorstring"],
              5: ["nodePort", "int0"],
              6: ["appProtocol", "string"],
            },
          ],
        ],
        2: ["selector", "map"],
        3: ["clusterIP", "string"],
        4: ["type", "string"],
        5: ["externalIPs", "strings"],
        7: ["sessionAffinity", "string"],
        10: ["externalName", "string"],
      },
    ],
  },
  V1Role: { 1: ["metadata", OBJECT_META], 2: ["rules", [POLICY_RULE]] },
  V1ClusterRole: { 1: ["metadata", OBJECT_META], 2: ["rules", [POLICY_RULE]] },
  V1RoleBinding: BINDING,
  V1ClusterRoleBinding: BINDING,
};
