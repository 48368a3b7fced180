/**
 * A linearizability checker for a compare-and-set register, after Porcupine
 * (Athalye): Lowe's just-in-time linearization (Wing & Gong's search with
 * backtracking over a list of call/return events, memoized on the set of
 * operations linearized so far plus the model state), one register (key) at
 * a time since linearizability is compositional. Operations whose outcome the
 * client never learned (the connection dropped) return at infinity and may
 * or may not have taken effect, so the model state is a set of possible
 * values (Porcupine's non-deterministic model as a power set).
 * No npm package does this (searched: no linearizability checker is published).
 */

/** The register's value; undefined = the key does not exist. */
export type Value = string | undefined;

/** One operation on a register as a client saw it. */
export type Operation =
  | { kind: "read"; value: Value }
  /** Write `value` if the register holds `expected` (PUT with the resourceVersion read with `expected`). */
  | { kind: "cas"; expected: Value; value: string; ok: boolean }
  /** Unconditional write (create or PUT without resourceVersion). */
  | { kind: "write"; value: string };

/** An operation with its key and when it was called and returned (any monotonic clock). */
export interface HistoryEntry {
  key: string;
  op: Operation;
  call: number;
  /** undefined: no answer (timeout, dropped connection): it may have taken effect at any time after call. */
  ret?: number;
  /** Who did it, for the report. */
  client?: number;
}

/** The outcome for one key. */
export interface KeyResult {
  key: string;
  ok: boolean;
  operations: number;
}

/** The checker's answer: linearizable iff every key's history is. */
export interface CheckResult {
  ok: boolean;
  keys: KeyResult[];
}

/** Possible register values after some operations, kept sorted so equal sets key the memo alike. */
type State = Value[];

/** The register model: the states after `op`, or undefined when `op` cannot happen in `state`. */
export function step(state: State, op: Operation, known: boolean): State | undefined {
  const has = (v: Value) => state.includes(v);
  if (op.kind === "write") return [op.value];
  if (op.kind === "read") {
    if (!known) return state;
    return has(op.value) ? [op.value] : undefined;
  }
  if (!known) {
    // Maybe applied (where it could apply), maybe not.
    return has(op.expected) ? normalize([...state, op.value]) : state;
  }
  if (op.ok) return has(op.expected) ? [op.value] : undefined;
  const others = state.filter((v) => v !== op.expected);
  return others.length > 0 ? others : undefined;
}

function normalize(state: State): State {
  return [...new Set(state)].sort((a, b) => (a ?? "").localeCompare(b ?? "") || (a === undefined ? -1 : 1));
}

interface Node {
  call: boolean;
  id: number;
  time: number;
  prev?: Node;
  next?: Node;
  /** For a call: its return. */
  match?: Node;
}

/** Whether one register's history is linearizable from `initial`. */
export function checkKey(entries: HistoryEntry[], initial: Value = undefined): boolean {
  // The event list: calls and returns in time order; at equal times calls first (the operations overlap).
  const events: Node[] = [];
  entries.forEach((e, id) => {
    const call: Node = { call: true, id, time: e.call };
    const ret: Node = { call: false, id, time: e.ret ?? Number.POSITIVE_INFINITY };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.call === b.call ? a.id - b.id : a.call ? -1 : 1));
  const head: Node = { call: false, id: -1, time: Number.NEGATIVE_INFINITY };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  const lift = (call: Node) => {
    for (const n of [call, call.match as Node]) {
      (n.prev as Node).next = n.next;
      if (n.next) n.next.prev = n.prev;
    }
  };
  const unlift = (call: Node) => {
    for (const n of [call.match as Node, call]) {
      (n.prev as Node).next = n;
      if (n.next) n.next.prev = n;
    }
  };

  const linearized = new Uint8Array(entries.length);
  const seen = new Set<string>();
  const stack: { call: Node; state: State }[] = [];
  let state: State = [initial];
  let entry = head.next;
  while (head.next) {
    if (!entry) return false;
    if (entry.call) {
      const e = entries[entry.id];
      const next = step(state, e.op, e.ret !== undefined);
      if (next) {
        linearized[entry.id] = 1;
        const memo = `${Buffer.from(linearized).toString("base64")}|${JSON.stringify(next)}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ call: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.id] = 0;
      }
      entry = entry.next;
    } else {
      // A return reached with its call not linearized: undo the last choice and try the next candidate.
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized[top.call.id] = 0;
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

/** Check a whole history, key by key (every register starts absent). */
export function checkHistory(history: HistoryEntry[]): CheckResult {
  const byKey = new Map<string, HistoryEntry[]>();
  for (const e of history) {
    const list = byKey.get(e.key) ?? [];
    list.push(e);
    byKey.set(e.key, list);
  }
  const keys = [...byKey].map(([key, entries]) => ({
    key,
    ok: checkKey(entries),
    operations: entries.length,
  }));
  return { ok: keys.every((k) => k.ok), keys };
}
