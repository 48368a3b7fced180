/**
 * The token signing keys (kube's --service-account-signing-key-file and
 * --service-account-key-file), parsed from the Worker secret
 * SERVICE_ACCOUNT_SIGNING_KEY: one or more PEM blocks (PKCS#8 private keys or
 * SPKI public keys) or a JWK / JWK Set. The first private key signs; every
 * key verifies and is published in the JWKS, so a rotation puts the new
 * private key first and keeps the old key (its public half is enough) after it.
 */
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  importJWK,
  importPKCS8,
  importSPKI,
  type JWK,
} from "jose";

/** One parsed key: what signs (when private) and what verifies, with its published JWK. */
export interface TokenKey {
  alg: string;
  /** RFC 7638 thumbprint of the public key: the JWT header's kid and the JWKS entry's. */
  kid: string;
  privateKey?: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK (no private members), as /openid/v1/jwks publishes it. */
  jwk: JWK;
}

/** Algorithms tried, in order, for a PEM key (the PEM does not say which one it is for). */
const ALGORITHMS = ["ES256", "ES384", "RS256", "EdDSA"];
const PUBLIC_MEMBERS = ["kty", "crv", "x", "y", "n", "e"];

function publicJwk(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => PUBLIC_MEMBERS.includes(k))) as JWK;
}

/** The JWS algorithm of a JWK (its own alg, else the one its type implies). */
function jwkAlg(jwk: JWK): string {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "OKP") return "EdDSA";
  return jwk.crv === "P-384" ? "ES384" : "ES256";
}

async function withKid(alg: string, publicKey: CryptoKey, privateKey?: CryptoKey): Promise<TokenKey> {
  const jwk = publicJwk(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(jwk);
  return { alg, kid, privateKey, publicKey, jwk: { ...jwk, kid, alg, use: "sig" } };
}

async function fromPem(pem: string): Promise<TokenKey> {
  const isPrivate = pem.includes("PRIVATE KEY");
  for (const alg of ALGORITHMS) {
    try {
      if (!isPrivate) return await withKid(alg, await importSPKI(pem, alg, { extractable: true }));
      const privateKey = await importPKCS8(pem, alg, { extractable: true });
      // The public half of a private JWK: drop the private members and import again.
      const publicKey = (await importJWK(publicJwk(await exportJWK(privateKey)), alg)) as CryptoKey;
      return await withKid(alg, publicKey, privateKey);
    } catch {
      // Not a key for this algorithm: try the next.
    }
  }
  throw new Error("a PEM block is neither an EC (P-256/P-384), RSA nor Ed25519 key");
}

async function fromJwk(jwk: JWK): Promise<TokenKey> {
  const alg = jwkAlg(jwk);
  const publicKey = (await importJWK(publicJwk(jwk), alg)) as CryptoKey;
  const privateKey = jwk.d ? ((await importJWK(jwk, alg)) as CryptoKey) : undefined;
  return withKid(alg, publicKey, privateKey);
}

/** Parse the key secret; the error never quotes it. Signing keys come first in the result. */
export async function parseTokenKeys(spec: string): Promise<TokenKey[]> {
  const text = spec.trim();
  let keys: TokenKey[];
  if (text.startsWith("{")) {
    let parsed: { keys?: JWK[] } & JWK;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error("the signing key is not valid JSON");
    }
    keys = await Promise.all((parsed.keys ?? [parsed]).map(fromJwk));
  } else {
    const blocks = text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? [];
    keys = await Promise.all(blocks.map(fromPem));
  }
  if (!keys.some((k) => k.privateKey)) throw new Error("the signing key holds no private key");
  return [...keys.filter((k) => k.privateKey), ...keys.filter((k) => !k.privateKey)];
}
