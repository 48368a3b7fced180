/**
 * Percent-decoding that cannot throw: decodeURIComponent raises URIError on a
 * malformed escape (`%`, `%zz`, `%e0%80`), which would surface as a 500.
 */

/** The decoded component, or undefined when it holds a malformed %-escape. */
export function tryDecodeURIComponent(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
