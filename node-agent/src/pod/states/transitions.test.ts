/**
 * The lifecycle's transitions. The @ts-expect-error lines are checked by
 * `npm run typecheck` (tsconfig.node.json includes this file): if a state's
 * declared successors stopped being enforced by the type checker, the
 * directive would be unused and the typecheck would fail.
 */
import { describe, expect, it } from "vitest";
import { type NextOf, STATES } from "./index.ts";
import type { pulling } from "./pulling.ts";
import { starting } from "./starting.ts";
import { defineState, type State } from "./state.ts";

// @ts-expect-error pulling may not go straight to running: it must start containers first
const pullingToRunning: NextOf<typeof pulling> = "running";
// @ts-expect-error a terminated pod never starts again
const terminatedToStarting: NextOf<typeof STATES.terminated> = "starting";
// @ts-expect-error the registry entry for "pulling" must be the pulling state
const misfiled: State<"pulling"> = starting;

/** A unit whose run() returns a state it did not declare. */
const undeclared = defineState({
  name: "backoff",
  next: ["starting", "terminating"],
  // @ts-expect-error run() may not return "running": it is not in this unit's next list
  async run() {
    return "running";
  },
});

describe("pod lifecycle transitions", () => {
  it("files every state under its own name", () => {
    for (const [name, unit] of Object.entries(STATES)) expect(unit.name).toBe(name);
  });

  it("declares the documented transition graph", () => {
    const graph = Object.fromEntries(Object.values(STATES).map((s) => [s.name, [...s.next].sort()]));
    expect(graph).toEqual({
      adopting: ["pulling", "running", "terminated", "terminating"],
      pulling: ["pullBackoff", "starting", "terminating"],
      pullBackoff: ["pulling", "terminating"],
      starting: ["backoff", "pulling", "running", "terminating"],
      running: ["backoff", "running", "starting", "terminated", "terminating"],
      backoff: ["starting", "terminating"],
      terminating: ["terminated"],
      terminated: ["done"],
    });
  });

  it("keeps the type-level examples as values (they exist only to be type-checked)", () => {
    expect([pullingToRunning, terminatedToStarting, misfiled.name, undeclared.next]).toEqual([
      "running",
      "starting",
      "starting",
      ["starting", "terminating"],
    ]);
  });
});
