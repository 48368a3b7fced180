import { describe, expect, it } from "vitest";
import { ApiError, errors } from "./status.ts";

describe("ApiError.toResponse", () => {
  it("answers the Status with its code as JSON", async () => {
    const response = errors.notFound("pods", "web").toResponse();
    expect(response.status).toBe(404);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    expect(response.headers.get("Retry-After")).toBeNull();
    expect(await response.json()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods "web" not found',
      reason: "NotFound",
      code: 404,
      details: { name: "web", group: "", kind: "pods" },
    });
  });

  it("says Retry-After when a 429 or 5xx Status asks to retry later", () => {
    const later = (reason: string) => new ApiError(reason, "later", { retryAfterSeconds: 3 }).toResponse();
    expect(later("TooManyRequests").headers.get("Retry-After")).toBe("3");
    expect(later("ServiceUnavailable").headers.get("Retry-After")).toBe("3");
    expect(later("Conflict").headers.get("Retry-After")).toBeNull();
  });
});
