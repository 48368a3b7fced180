/**
 * The store every reader in the Worker uses: the Durable Object store behind
 * the value transform (registry/transformed-store.ts), so Secrets are
 * encrypted on the way in and decrypted on the way out whoever reads them:
 * the API server, and the token authenticator of the registry and tunnel
 * endpoints. Reading env.STORE directly would see ciphertext.
 */

import { createDurableStore } from "../../durable-objects/store/client.ts";
import { parseShardMap, type ShardMap } from "../../durable-objects/store/sharded.ts";
import type { Env } from "../env.ts";
import { RESOURCES } from "./kinds/index.ts";
import { aesgcmTransformer, type ValueTransformer } from "./registry/encryption.ts";
import { type TransformedStore, transformedStore } from "./registry/transformed-store.ts";

/** Parsed keys per store binding (per isolate), re-parsed when the secret changes. */
const transformers = new WeakMap<object, { spec?: string; transformer: ValueTransformer }>();

/** The Durable Object store of `env`, encrypting resources marked encryptAtRest with ENCRYPTION_KEYS. */
export function storeForEnv(env: Env): TransformedStore {
  let entry = transformers.get(env.STORE);
  if (!entry || entry.spec !== env.ENCRYPTION_KEYS) {
    entry = { spec: env.ENCRYPTION_KEYS, transformer: aesgcmTransformer(env.ENCRYPTION_KEYS) };
    transformers.set(env.STORE, entry);
  }
  return transformedStore(createDurableStore(env.STORE), entry.transformer, RESOURCES);
}

const shardMaps = new Map<string, ShardMap>();

/** The STORE_SHARDS setting, parsed once per isolate per value (a bad one fails every request, loudly). */
export function shardMap(setting: string | undefined): ShardMap {
  const text = setting ?? "";
  let map = shardMaps.get(text);
  if (!map) {
    map = parseShardMap(text);
    shardMaps.set(text, map);
  }
  return map;
}
