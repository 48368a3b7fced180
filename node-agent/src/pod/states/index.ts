/**
 * The pod lifecycle as explicit states (krustlet's model): one file per
 * state, each declaring the states it may hand over to (checked by the type
 * checker through defineState, and by the worker at run time).
 *
 *   adopting ─▶ pulling ─▶ starting ─▶ running ─▶ terminated
 *                 │  ▲                  │  ▲  │
 *                 ▼  │                  ▼  │  └─▶ backoff ─▶ starting
 *             pullBackoff            (starting)
 *   any state but terminated ─▶ terminating ─▶ terminated ─▶ (released)
 */
import { adopting } from "./adopting.ts";
import { backoff } from "./backoff.ts";
import { pullBackoff } from "./pull-backoff.ts";
import { pulling } from "./pulling.ts";
import { running } from "./running.ts";
import { starting } from "./starting.ts";
import type { ActiveStateName, State } from "./state.ts";
import { terminated } from "./terminated.ts";
import { terminating } from "./terminating.ts";

export type { ActiveStateName, NextOf, State, StateName } from "./state.ts";

/** Every state by name; `satisfies` makes each entry the state of its own name and keeps its own successors. */
export const STATES = {
  adopting,
  pulling,
  pullBackoff,
  starting,
  running,
  backoff,
  terminating,
  terminated,
} as const satisfies { readonly [N in ActiveStateName]: State<N> };
