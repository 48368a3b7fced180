/** The pathological 3 MiB bodies the limits bench refuses (and one real manifest for scale). */

const SIZE = 3 * 1024 * 1024 - 64;

/** name → [text, is YAML]. */
export const BODIES: Record<string, [string, boolean]> = {
  "yaml [[[[ (flow seq)": ["[".repeat(SIZE), true],
  "yaml {a: {a: (flow map)": ["{a: ".repeat(SIZE / 4), true],
  "yaml - - - (block seq)": [`${"- ".repeat(SIZE / 2)}a`, true],
  "yaml - a x786k (many nodes)": ["- a\n".repeat(SIZE / 4), true],
  "json [[[[": ["[".repeat(SIZE), false],
  'json {"a":{"a":': ['{"a":'.repeat(SIZE / 5), false],
};
