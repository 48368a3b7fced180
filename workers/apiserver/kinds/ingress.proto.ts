/** networking.k8s.io/v1 Ingress protobuf field numbers (generated.proto), for kubectl create ingress. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** IngressBackend: a Service (name, port by name or number) or a typed resource reference. */
const BACKEND: Schema = {
  3: [
    "resource",
    {
      1: ["apiGroup", "string"],
      2: ["kind", "string"],
      3: ["name", "string"],
    },
  ],
  4: [
    "service",
    {
      1: ["name", "string"],
      2: ["port", { 1: ["name", "string"], 2: ["number", "int0"] }],
    },
  ],
};

/** The Ingress message. IngressRule embeds IngressRuleValue (field 2) inline, as JSON does (name ""). */
export const ingressProto: Schema = {
  1: ["metadata", OBJECT_META],
  2: [
    "spec",
    {
      1: ["defaultBackend", BACKEND],
      2: ["tls", [{ 1: ["hosts", "strings"], 2: ["secretName", "string"] }]],
      3: [
        "rules",
        [
          {
            1: ["host", "string"],
            2: [
              "",
              {
                1: [
                  "http",
                  {
                    1: [
                      "paths",
                      [{ 1: ["path", "string"], 2: ["backend", BACKEND], 3: ["pathType", "string"] }],
                    ],
                  },
                ],
              },
            ],
          },
        ],
      ],
      4: ["ingressClassName", "string"],
    },
  ],
};
