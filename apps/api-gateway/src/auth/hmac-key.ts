import { webcrypto } from 'node:crypto';

/** A secret key for jose's HS256. */
export type HmacKey = webcrypto.CryptoKey;

/**
 * An HS256 secret as a WebCrypto key, imported once. jose signs and verifies with WebCrypto: handed raw
 * bytes or a Node KeyObject it imports a CryptoKey again on every call, which costs several times the
 * HMAC itself.
 */
export function hmacKey(secret: string): Promise<HmacKey> {
  return webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
    'verify',
  ]);
}
