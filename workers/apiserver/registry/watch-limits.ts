/**
 * Limits on watches: a cap on the watches one identity holds open at once
 * (429 TooManyRequests with Retry-After past it), and kube-apiserver's
 * server-side watch timeout, a random 1–2× --min-request-timeout, so that
 * no watch lives for ever and reconnects spread out.
 *
 * The count is per isolate (docs/apiserver.md says why): a watch is a
 * stream held by the isolate that accepted it, so that isolate's memory is
 * what a flood of watches uses up.
 */
import { ApiError } from "../../client/status.ts";

/** kube-apiserver's --min-request-timeout default (seconds). */
export const DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS = 1800;
/** Default cap per identity: far above what a node agent (a handful) or the controller manager's informers open. */
export const DEFAULT_MAX_WATCHES_PER_USER = 100;
/** A quiet watch writes a newline this often (s), so a client that went away is noticed and its slot freed. */
export const DEFAULT_WATCH_KEEPALIVE_SECONDS = 5;
/** What a refused client is told to wait before retrying (kube's default Retry-After for 429 is 1 s). */
const RETRY_AFTER_SECONDS = 1;

/** Counts open watches per identity against a cap. */
export interface WatchLimiter {
  /** Take a slot for `user` or throw 429 TooManyRequests; returns the release (safe to call more than once). */
  acquire(user: string): () => void;
  /** Watches `user` holds open now. */
  open(user: string): number;
}

/** A limiter allowing `max` concurrent watches per identity (0 or less: unlimited). */
export function createWatchLimiter(max: number): WatchLimiter {
  const counts = new Map<string, number>();
  return {
    acquire(user) {
      const held = counts.get(user) ?? 0;
      if (max > 0 && held >= max)
        throw new ApiError(
          "TooManyRequests",
          `too many watches open for this user (limit ${max}), please try again later`,
          {
            retryAfterSeconds: RETRY_AFTER_SECONDS,
          },
        );
      counts.set(user, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(user) ?? 1) - 1;
        if (left > 0) counts.set(user, left);
        else counts.delete(user);
      };
    },
    open: (user) => counts.get(user) ?? 0,
  };
}

/**
 * How long a watch may run, in seconds: the client's timeoutSeconds, but
 * never more than min-request-timeout × (1 + random()) (kube's formula for a
 * watch without one). 0 disables the server-side bound.
 */
export function watchTimeoutSeconds(
  requested: number | undefined,
  minRequestTimeoutSeconds: number,
  random: () => number,
): number | undefined {
  if (minRequestTimeoutSeconds <= 0) return requested || undefined;
  const bound = minRequestTimeoutSeconds * (1 + random());
  return requested && requested > 0 ? Math.min(requested, bound) : bound;
}

/** Parse a non-negative integer setting (env var), falling back to `fallback` when unset or malformed. */
export function intSetting(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}
