import { describe, expect, it } from "vitest";
import { rowRange } from "./window.ts";

describe("rowRange", () => {
  it("renders the first screenful plus the overscan when the table starts at the top", () => {
    expect(rowRange(1000, 32, 0, 800, 10)).toEqual({ start: 0, end: 35 });
  });

  it("follows the scroll position, overscan on both sides", () => {
    expect(rowRange(1000, 32, 3200, 800, 10)).toEqual({ start: 90, end: 135 });
  });

  it("stops at the last row when scrolled to the bottom", () => {
    expect(rowRange(1000, 32, 32 * 1000 - 800, 800, 10)).toEqual({ start: 965, end: 1000 });
  });

  it("counts only the visible part when the table starts lower in the viewport", () => {
    expect(rowRange(1000, 32, -400, 800, 10)).toEqual({ start: 0, end: 23 });
  });

  it("renders nothing for a table below the viewport, and an empty list stays empty", () => {
    expect(rowRange(1000, 32, -2000, 800, 10)).toEqual({ start: 0, end: 0 });
    expect(rowRange(0, 32, 500, 800, 10)).toEqual({ start: 0, end: 0 });
  });

  it("clamps to a list that shrank while scrolled far down (rows deleted by the watch)", () => {
    expect(rowRange(50, 32, 3200, 800, 10)).toEqual({ start: 50, end: 50 });
  });
});
