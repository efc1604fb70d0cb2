// The per-pid tokens a probe presents in its hello: random, compared in constant time.
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh random token (32 url-safe characters). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
