import { testResource } from "../testing/fixture.ts";
import { runRegistryTester } from "./tester.ts";

// The tester itself, run over the fixture's widget row (graceful deletion included).
runRegistryTester(testResource("widgets"), {
  valid: [
    { metadata: { name: "plain" }, spec: { color: "red" } },
    { metadata: { generateName: "gen-" }, spec: { color: "blue", replicas: 3 } },
    { metadata: { name: "bound", labels: { a: "b" } }, spec: { color: "red", nodeName: "n1" } },
  ],
  invalid: [
    { object: { metadata: { name: "x" }, spec: {} }, fields: ["spec.color"] },
    {
      object: { metadata: { name: "UPPER" }, spec: { color: "red", replicas: -1 } },
      fields: ["metadata.name", "spec.replicas"],
    },
  ],
});
