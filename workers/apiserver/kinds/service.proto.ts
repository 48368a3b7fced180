/** core/v1 Service protobuf field numbers (generated.proto), for kubectl create service. */
import { OBJECT_META, type Schema } from "../protobuf-schemas.ts";

/** The Service message. */
export const serviceProto: Schema = {
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
};
