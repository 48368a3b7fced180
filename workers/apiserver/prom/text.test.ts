/** The metric types themselves: series identity by label set, and histogram buckets as Prometheus reads them. */
import { describe, expect, it } from "vitest";
import { parsePrometheusText } from "./parse.ts";
import { Counter, Histogram } from "./text.ts";

describe("prometheus text metrics", () => {
  it("keys a series by its label set whatever order the names were written in", () => {
    const c = new Counter("requests_total", "Requests.");
    c.inc({ verb: "GET", code: "200" });
    c.inc({ code: "200", verb: "GET" }, 2);
    expect(c.get({ verb: "GET", code: "200" })).toBe(3);
    expect(parsePrometheusText(c.render()).find("requests_total")).toHaveLength(1);
  });

  it("keeps label sets apart even when a value holds the key's separators", () => {
    const c = new Counter("odd_total", "Odd values.");
    c.inc({ a: "p\u0000b\u00001\u0000q", b: "y" });
    c.inc({ a: "p", b: "q\u0000b\u00001\u0000y" });
    expect(c.get({ a: "p\u0000b\u00001\u0000q", b: "y" })).toBe(1);
    expect(c.get({ a: "p", b: "q\u0000b\u00001\u0000y" })).toBe(1);
  });

  it("renders cumulative buckets, +Inf equal to the count, and the sum", () => {
    const h = new Histogram("latency_seconds", "Latency.", [0.1, 1, 10]);
    for (const v of [0.05, 0.1, 0.5, 2, 20, 30]) h.observe({ verb: "LIST" }, v);
    const text = parsePrometheusText(h.render());
    const bucket = (le: string) => text.find("latency_seconds_bucket", { verb: "LIST", le })[0]?.value;
    expect([bucket("0.1"), bucket("1"), bucket("10"), bucket("+Inf")]).toEqual([2, 3, 4, 6]);
    expect(text.find("latency_seconds_count")[0]?.value).toBe(6);
    expect(text.find("latency_seconds_sum")[0]?.value).toBeCloseTo(52.65);
    expect(h.count({ verb: "LIST" })).toBe(6);
  });
});
