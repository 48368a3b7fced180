/**
 * A stored value → the JSON text of the object a read returns, without a
 * parse/stringify round trip when that is safe: the store keeps each object
 * as compact JSON without metadata.resourceVersion (Registry.encode), so the
 * served object is the stored text with "resourceVersion" added to its
 * top-level metadata. Anything else takes the slow path.
 */

/** Only simple string members ahead of "metadata":{, so the metadata found is the top-level one. */
const METADATA_AHEAD = /^\{(?:"[A-Za-z]+":"[^"\\]*",)*"metadata":\{/;

/**
 * The stored `value` with metadata.resourceVersion set to `resourceVersion`, as
 * JSON text; undefined when the text is not in the shape this can splice
 * (metadata after other objects, or "resourceVersion" already in the text,
 * which a splice would duplicate).
 */
export function spliceResourceVersion(value: string, resourceVersion: string): string | undefined {
  const head = METADATA_AHEAD.exec(value);
  if (!head || value.includes('"resourceVersion"')) return undefined;
  const at = head[0].length;
  const field = `"resourceVersion":"${resourceVersion}"`;
  return `${value.slice(0, at)}${field}${value[at] === "}" ? "" : ","}${value.slice(at)}`;
}
