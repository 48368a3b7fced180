/**
 * What a lifecycle state is (krustlet's `State` + `TransitionTo<S>`): a unit
 * with a name, the states it may hand over to, and its work. The successors
 * are a union type, so a run() that returns a state outside its list is a
 * type error, not only a runtime refusal in the worker.
 */
import type { PodContext } from "../context.ts";

/** State names. "done" ends the worker. */
export type StateName =
  | "adopting"
  | "pulling"
  | "pullBackoff"
  | "starting"
  | "running"
  | "backoff"
  | "terminating"
  | "terminated"
  | "done";

/** A state that has work to do (every name but "done"). */
export type ActiveStateName = Exclude<StateName, "done">;

/** One unit of the lifecycle named N that may only go to the states in Next. */
export interface State<N extends ActiveStateName = ActiveStateName, Next extends StateName = StateName> {
  readonly name: N;
  /** Where this state may go next (the worker checks it at run time too). */
  readonly next: readonly Next[];
  run(ctx: PodContext): Promise<Next>;
}

/** The states a unit may go to. */
export type NextOf<S> = S extends State<ActiveStateName, infer Next> ? Next : never;

/**
 * Declares a state. Next is taken from the `next` list alone (NoInfer keeps
 * run()'s returns from widening it), so run() is checked against that list.
 */
export function defineState<const N extends ActiveStateName, const Next extends StateName>(unit: {
  name: N;
  next: readonly Next[];
  run(ctx: PodContext): Promise<NoInfer<Next>>;
}): State<N, Next> {
  return unit;
}
