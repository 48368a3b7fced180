/** kubectl create priorityclass's protobuf body: every field, a negative value included. */
import { describe, expect, it } from "vitest";
import { decodeProtobuf } from "../protobuf.ts";
import { priorityClassProto } from "./priorityclass.proto.ts";

const text = new TextEncoder();
/** A length-delimited field. */
const bytes = (num: number, b: Uint8Array | number[]) => [(num << 3) | 2, b.length, ...b];
/** An int32 varint field as Go writes it: a negative value as 64-bit two's complement (ten bytes). */
function int(num: number, value: number): number[] {
  const out: number[] = [num << 3];
  let v = BigInt.asUintN(64, BigInt(value));
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const envelope = (raw: number[]) => new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...bytes(2, raw)]);

describe("PriorityClass protobuf", () => {
  it("decodes name, value (negative too), globalDefault, description and preemptionPolicy", () => {
    for (const value of [-5, -2147483648, 0, 1000, 2000001000]) {
      const decoded = decodeProtobuf(
        envelope([
          ...bytes(1, bytes(1, text.encode("batch"))),
          ...int(2, value),
          3 << 3,
          1,
          ...bytes(4, text.encode("background")),
          ...bytes(5, text.encode("Never")),
        ]),
        priorityClassProto,
        "scheduling.k8s.io/v1",
        "PriorityClass",
      );
      expect(decoded).toEqual({
        apiVersion: "scheduling.k8s.io/v1",
        kind: "PriorityClass",
        metadata: { name: "batch" },
        value,
        globalDefault: true,
        description: "background",
        preemptionPolicy: "Never",
      });
    }
  });
});
