import type { PersistentVolume, PersistentVolumeClaim } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col, orNone } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, setDefault, specOf } from "./util.ts";
import { checkImmutable, notSupported, required } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";
import { validateNonNegativeQuantity } from "./validation/quantity.ts";

const ACCESS_MODES: Record<string, string> = {
  ReadWriteOnce: "RWO",
  ReadOnlyMany: "ROX",
  ReadWriteMany: "RWX",
  ReadWriteOncePod: "RWOP",
};

function validateAccessModes(modes: unknown, field: string): FieldError[] {
  if (!Array.isArray(modes) || modes.length === 0) return [required(field)];
  return modes.flatMap((m, i) =>
    ACCESS_MODES[m] ? [] : [notSupported(`${field}[${i}]`, m, Object.keys(ACCESS_MODES))],
  );
}

function modes(source: unknown): string {
  const list = (Array.isArray(source) ? source : []) as string[];
  return list.map((m) => ACCESS_MODES[m] ?? m).join(",");
}

/** The PersistentVolumeClaim strategy. */
export const persistentVolumeClaimStrategy: Strategy<PersistentVolumeClaim> = {
  defaults(pvc) {
    setDefault(specOf(pvc), "volumeMode", "Filesystem");
  },
  ...statusSplit(() => ({ phase: "Pending" })),
  validate(pvc) {
    const spec = obj(pvc.spec);
    const errs = validateAccessModes(spec.accessModes, "spec.accessModes");
    const storage = obj(obj(spec.resources).requests).storage;
    if (storage === undefined) errs.push(required("spec.resources[storage]"));
    else errs.push(...validateNonNegativeQuantity(storage, "spec.resources[storage]"));
    errs.push(...oneOf(spec.volumeMode, ["Block", "Filesystem"], "spec.volumeMode"));
    return errs;
  },
  validateUpdate: (pvc, old) => [
    ...checkImmutable(obj(pvc.spec).accessModes, obj(old.spec).accessModes, "spec.accessModes"),
    // kube (1.28+) lets an unset class be set once: the retroactive default class assignment.
    ...(obj(old.spec).storageClassName === undefined
      ? []
      : checkImmutable(
          obj(pvc.spec).storageClassName,
          obj(old.spec).storageClassName,
          "spec.storageClassName",
        )),
    ...checkImmutable(obj(pvc.spec).volumeMode, obj(old.spec).volumeMode, "spec.volumeMode"),
  ],
  specChanged: specDiffers,
  columns: [
    col("Status", "The phase of the claim."),
    col("Volume", "The binding reference to the PersistentVolume backing this claim."),
    col("Capacity", "The actual resources of the underlying volume."),
    col("Access Modes", "The actual access modes the volume backing the PVC has."),
    col("StorageClass", "Name of the StorageClass required by the claim."),
    col("VolumeAttributesClass", "Name of the VolumeAttributesClass used by the claim."),
    AGE,
    col("VolumeMode", "Defines what type of volume is required by the claim.", { wide: true }),
  ],
  row(pvc, now) {
    const spec = obj(pvc.spec);
    const status = obj(pvc.status);
    const bound = Boolean(spec.volumeName);
    return [
      (status.phase as string) ?? "",
      (spec.volumeName as string) ?? "",
      bound ? ((obj(status.capacity).storage as string) ?? "") : "",
      bound ? modes(status.accessModes) : "",
      orNone(spec.storageClassName as string),
      orNone(spec.volumeAttributesClassName as string),
      age(pvc, now),
      (spec.volumeMode as string) ?? "",
    ];
  },
};

/** The PersistentVolume strategy. */
export const persistentVolumeStrategy: Strategy<PersistentVolume> = {
  defaults(pv) {
    const spec = specOf(pv);
    setDefault(spec, "persistentVolumeReclaimPolicy", "Retain");
    setDefault(spec, "volumeMode", "Filesystem");
  },
  ...statusSplit(() => ({ phase: "Pending" })),
  validate(pv) {
    const spec = obj(pv.spec);
    const errs = validateAccessModes(spec.accessModes, "spec.accessModes");
    const storage = obj(spec.capacity).storage;
    if (storage === undefined) errs.push(required("spec.capacity[storage]"));
    else errs.push(...validateNonNegativeQuantity(storage, "spec.capacity[storage]"));
    errs.push(
      ...oneOf(
        spec.persistentVolumeReclaimPolicy,
        ["Delete", "Recycle", "Retain"],
        "spec.persistentVolumeReclaimPolicy",
      ),
    );
    const sources = [
      "hostPath",
      "local",
      "nfs",
      "csi",
      "iscsi",
      "fc",
      "cephfs",
      "rbd",
      "azureFile",
      "azureDisk",
      "gcePersistentDisk",
      "awsElasticBlockStore",
    ];
    if (!sources.some((s) => spec[s] !== undefined))
      errs.push(required("spec", "must specify a volume type"));
    return errs;
  },
  specChanged: specDiffers,
  columns: [
    col("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
    col("Access Modes", "accessModes contains all ways the volume can be mounted."),
    col(
      "Reclaim Policy",
      "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
    ),
    col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
    col(
      "Claim",
      "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
    ),
    col(
      "StorageClass",
      "storageClassName is the name of StorageClass to which this persistent volume belongs.",
    ),
    col(
      "VolumeAttributesClass",
      "Name of the VolumeAttributesClass to which this persistent volume belongs.",
    ),
    col("Reason", "reason is a brief CamelCase string that describes any failure."),
    AGE,
    col(
      "VolumeMode",
      "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
      { wide: true },
    ),
  ],
  row(pv, now) {
    const spec = obj(pv.spec);
    const status = obj(pv.status);
    const claim = obj(spec.claimRef);
    return [
      (obj(spec.capacity).storage as string) ?? "",
      modes(spec.accessModes),
      (spec.persistentVolumeReclaimPolicy as string) ?? "",
      (status.phase as string) ?? "",
      claim.name ? `${claim.namespace}/${claim.name}` : "",
      (spec.storageClassName as string) ?? "",
      orNone(spec.volumeAttributesClassName as string),
      (status.reason as string) ?? "",
      age(pv, now),
      (spec.volumeMode as string) ?? "",
    ];
  },
};
