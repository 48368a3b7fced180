import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { generate, OUTPUT } from "./gen-openapi.ts";

describe("gen-openapi", () => {
  it("the committed schemas are what the generator produces (run `npx tsx scripts/gen-openapi.ts` after changing kinds or @kubernetes/client-node)", async () => {
    expect(await generate()).toBe(readFileSync(OUTPUT, "utf8"));
  });

  it("carries descriptions and required fields from the client-node models", async () => {
    const { models } = JSON.parse(await generate()) as {
      models: Record<
        string,
        {
          name: string;
          description?: string;
          required?: string[];
          properties: Record<string, { t: string; d?: string }>;
        }
      >;
    };
    expect(models.V1Deployment.name).toBe("io.k8s.api.apps.v1.Deployment");
    expect(models.V1Deployment.description).toMatch(/declarative updates for Pods and ReplicaSets/);
    expect(models.V1Container.required).toEqual(["name"]);
    expect(models.V1PodSpec.properties.containers.t).toBe("Array<V1Container>");
    expect(models.V1ObjectMeta.name).toBe("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
    expect(models.V1PodTemplateSpec.name).toBe("io.k8s.api.core.v1.PodTemplateSpec");
  });
});
