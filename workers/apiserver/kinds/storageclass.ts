/** storage.k8s.io/v1 StorageClass: how PersistentVolumes of a class are provisioned (cluster-scoped, spec-less). */
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { checkImmutable, required } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";

/** kube's annotation marking the class PVCs without a storageClassName get. */
const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";

/** The StorageClass strategy. */
export const storageClassStrategy: Strategy = {
  defaults(sc) {
    // As kube's SetDefaults_StorageClass: Delete and Immediate unless said otherwise.
    sc.reclaimPolicy ??= "Delete";
    sc.volumeBindingMode ??= "Immediate";
  },
  validate(sc) {
    const errs: FieldError[] = [];
    if (typeof sc.provisioner !== "string" || sc.provisioner === "") errs.push(required("provisioner"));
    errs.push(...oneOf(sc.reclaimPolicy, ["Delete", "Retain"], "reclaimPolicy"));
    errs.push(...oneOf(sc.volumeBindingMode, ["Immediate", "WaitForFirstConsumer"], "volumeBindingMode"));
    return errs;
  },
  // Everything but metadata, allowVolumeExpansion and mountOptions is immutable in kube.
  validateUpdate: (sc, old) =>
    ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"].flatMap((f) =>
      checkImmutable(sc[f], old[f], f),
    ),
  specChanged: () => false,
  // kubectl prints the default class as "NAME (default)", so this row carries its own NAME.
  fullRow: true,
  columns: [
    col("Name", "Name must be unique within a namespace.", { format: "name" }),
    col("Provisioner", "Provisioner indicates the type of the provisioner."),
    col(
      "ReclaimPolicy",
      "Dynamically provisioned PersistentVolumes of this storage class are created with this reclaimPolicy.",
    ),
    col(
      "VolumeBindingMode",
      "VolumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
    ),
    col("AllowVolumeExpansion", "AllowVolumeExpansion shows whether the storage class allow volume expand."),
    AGE,
  ],
  row: (sc, now) => [
    sc.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true"
      ? `${sc.metadata?.name} (default)`
      : sc.metadata?.name,
    sc.provisioner ?? "",
    sc.reclaimPolicy ?? "",
    sc.volumeBindingMode ?? "",
    String(sc.allowVolumeExpansion ?? false),
    age(sc, now),
  ],
};
