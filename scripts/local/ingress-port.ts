/**
 * npm start's ingress port: TLS on 127.0.0.1:<port>, then the decrypted
 * bytes piped as they are to the Worker's `IngressEntrypoint` (a workerd
 * socket on loopback serving only ingress, never the API). Being a byte
 * pipe, HTTP keep-alive, streamed bodies and WebSocket upgrades pass
 * through untouched. Each Host gets a certificate from the local CA on
 * first use (SNI), so `curl --cacert ca.crt --resolve web.test:8443:127.0.0.1
 * https://web.test:8443/` verifies as at the edge.
 */
import { mkdir, readFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { createSecureContext, createServer, type SecureContext } from "node:tls";
import { signLeaf } from "./pki.ts";

/** A host name we will put in a certificate (DNS characters only: it goes into an openssl config). */
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The running ingress port. */
export interface IngressPort {
  port: number;
  stop(): Promise<void>;
}

/** What the ingress port needs. */
export interface IngressPortOptions {
  /** 0: any free port. */
  port: number;
  /** Where the Worker's ingress entrypoint listens (plain HTTP on loopback). */
  upstream: URL;
  /** The local CA, and a directory for the per-host certificates. */
  pki: { caCert: string; caKey: string; dir: string };
  /** The certificate for clients that send no (or an unusable) server name. */
  fallback: { cert: string; key: string };
}

/** Start the ingress port. */
export async function startIngressPort(options: IngressPortOptions): Promise<IngressPort> {
  const dir = join(options.pki.dir, "ingress-certs");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const contexts = new Map<string, Promise<SecureContext>>();
  const open = new Set<{ destroy(): void }>();
  const contextFor = (name: string): Promise<SecureContext> => {
    let context = contexts.get(name);
    if (!context) {
      context = (async () => {
        const cert = join(dir, `${name}.crt`);
        const key = join(dir, `${name}.key`);
        await signLeaf(dir, name, name, [`DNS:${name}`], { ...options.pki, cert, key });
        return createSecureContext({ cert: await readFile(cert), key: await readFile(key) });
      })();
      context.catch(() => contexts.delete(name));
      contexts.set(name, context);
    }
    return context;
  };
  const server = createServer(
    {
      cert: await readFile(options.fallback.cert),
      key: await readFile(options.fallback.key),
      SNICallback: (servername, done) => {
        const name = servername.toLowerCase();
        if (!HOST.test(name) || name.length > 253) return done(null, undefined);
        contextFor(name).then(
          (context) => done(null, context),
          (error: Error) => done(error),
        );
      },
    },
    (client) => {
      const upstream = connect({ host: options.upstream.hostname, port: Number(options.upstream.port) });
      client.pipe(upstream).pipe(client);
      open.add(client);
      const close = () => {
        open.delete(client);
        client.destroy();
        upstream.destroy();
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : options.port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
