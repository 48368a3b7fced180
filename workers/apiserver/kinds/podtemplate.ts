/** core/v1 PodTemplate: a stored pod template (CONTAINERS IMAGES POD LABELS). */
import type { PodTemplate } from "../../client/types.ts";
import type { Strategy } from "../registry/types.ts";
import { col, containersAndImages, formatLabels } from "./print.ts";
import { obj } from "./util.ts";
import { validatePodTemplate } from "./validation/podspec.ts";
import { defaultPodTemplate } from "./validation/podspec-defaults.ts";

/** The PodTemplate strategy. */
export const podTemplateStrategy: Strategy<PodTemplate> = {
  defaults: (pt) => defaultPodTemplate(pt.template),
  validate: (pt) => validatePodTemplate(pt.template, "template", ["Always", "OnFailure", "Never"]),
  specChanged: (a, b) => JSON.stringify(a.template) !== JSON.stringify(b.template),
  columns: [
    col("Containers", "Names of each container in the template."),
    col("Images", "Images referenced by each container in the template."),
    col("Pod Labels", "The labels for the pod template."),
  ],
  row(pt) {
    const template = obj(pt.template);
    return [
      ...containersAndImages(template.spec),
      formatLabels(obj(template.metadata).labels as Record<string, string>),
    ];
  },
};
