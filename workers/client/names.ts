/**
 * Generated names, as kube's SimpleNameGenerator makes them: the prefix plus
 * five characters from an alphabet without vowels or look-alike digits (so a
 * suffix never spells a word or reads ambiguously).
 */

/** kube's utilrand alphabet: no vowels, no 0/1/3. */
export const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** A random suffix of `length` characters from NAME_ALPHABET (kube: utilrand.String(5)). */
export function randomSuffix(length = 5): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += NAME_ALPHABET[b % NAME_ALPHABET.length];
  return out;
}
