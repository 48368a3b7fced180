/**
 * A tiny Worker exposing the store over HTTP, for the durability test and
 * the benchmark only (the real Worker's fetch belongs to the API server).
 *
 *   POST /put?key=K          body = value; creates K (or, if it exists, CAS-updates it)
 *   GET  /get?key=K          the kv, or 404
 *   GET  /revisions?prefix=P the shard's revisions
 *   GET  /count?prefix=P
 *   GET  /watch?prefix=P&after=N  the watch as NDJSON lines {rev, value, seenAt} (first line {})
 *   GET  /stats?shard=S      group-commit counters of a shard
 *   GET  /noop?shard=S       one Worker → object call that does nothing
 *   GET  /ping               the Worker answers without calling an object
 *   POST /inobject?prefix=P&n=N&size=B  N writes inside one object call
 */
import { createDurableStore } from "../client.ts";
import type { StoreObject } from "../object.ts";
import { unwrap } from "../rpc.ts";
import { type Store, StoreError, shardFor } from "../types.ts";

export { StoreObject } from "../object.ts";

interface FixtureEnv {
  STORE: DurableObjectNamespace<StoreObject>;
}

/** Streams a watch's events as NDJSON ({rev, value} per line); ends when the client goes away. */
function watchStream(store: Store, prefix: string, after: number): Response {
  const ctl = new AbortController();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const enc = new TextEncoder();
  (async () => {
    try {
      // A first line tells the client the watch is open.
      await writer.write(enc.encode("{}\n"));
      for await (const msg of store.watch(prefix, { afterRevision: after, signal: ctl.signal })) {
        if (msg.type !== "events") continue;
        // seenAt: when the Worker got the event (Date.now() is current at each I/O event in workerd).
        const seenAt = Date.now();
        const lines = msg.events.map((e) =>
          JSON.stringify({ rev: e.kv.modRevision, value: e.kv.value, seenAt }),
        );
        await writer.write(enc.encode(`${lines.join("\n")}\n`));
      }
    } catch {
      // The client went away (write failed) or the watch ended.
    } finally {
      ctl.abort();
      await writer.close().catch(() => {});
    }
  })();
  return new Response(readable, { headers: { "content-type": "application/x-ndjson" } });
}

async function handle(request: Request, env: FixtureEnv): Promise<Response> {
  const url = new URL(request.url);
  const q = (name: string) => url.searchParams.get(name) ?? "";
  const store = createDurableStore(env.STORE);
  switch (url.pathname) {
    case "/put": {
      const key = q("key");
      const value = await request.text();
      let r = await store.create(key, value);
      while (!r.succeeded) r = await store.update(key, value, r.kv?.modRevision ?? 0);
      return Response.json({ revision: r.revision });
    }
    case "/get": {
      const { kv } = await store.get(q("key"));
      return kv ? Response.json(kv) : new Response("not found", { status: 404 });
    }
    case "/revisions":
      return Response.json(await store.revisions(q("prefix")));
    case "/count":
      return Response.json(await store.count(q("prefix")));
    case "/watch":
      return watchStream(store, q("prefix"), Number(q("after")));
    case "/stats": {
      const stub = env.STORE.get(env.STORE.idFromName(q("shard")));
      return Response.json(await stub.commitStats());
    }
    case "/ping":
      return new Response("ok");
    case "/noop": {
      const stub = env.STORE.get(env.STORE.idFromName(q("shard")));
      return Response.json(await stub.noop());
    }
    case "/inobject": {
      const prefix = q("prefix");
      const stub = env.STORE.get(env.STORE.idFromName(shardFor(`${prefix}x`)));
      const n = unwrap(await stub.benchWrites(prefix, Number(q("n")), Number(q("size"))));
      return Response.json({ n });
    }
    default:
      return new Response("not found", { status: 404 });
  }
}

export default {
  async fetch(request: Request, env: FixtureEnv): Promise<Response> {
    try {
      return await handle(request, env);
    } catch (e) {
      const code = e instanceof StoreError ? e.code : "Internal";
      return Response.json({ code, message: e instanceof Error ? e.message : String(e) }, { status: 500 });
    }
  },
} satisfies ExportedHandler<FixtureEnv>;
