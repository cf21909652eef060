import { jwtExpiryMs } from '../../src/auth/jwtExpiry';
import { tokenCacheKey } from '../../src/auth/reviewCache';

const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

test('exp (seconds) of a JWT comes back as epoch milliseconds, without verifying the signature', () => {
  expect(jwtExpiryMs(`${part({ alg: 'none' })}.${part({ exp: 1_900_000_000 })}.sig`)).toBe(1_900_000_000_000);
});

test.each([
  ['an opaque token', 'abcdef'],
  ['a JWT without exp', `${part({})}.${part({ sub: 'x' })}.sig`],
  ['a non-numeric exp', `${part({})}.${part({ exp: 'soon' })}.sig`],
  ['a payload that is not JSON', `${part({})}.bm90IGpzb24.sig`],
  ['a payload that is JSON but not an object', `${part({})}.${part(42)}.sig`],
])('%s has no expiry (and does not throw)', (_name, token) => {
  expect(jwtExpiryMs(token)).toBeUndefined();
});

test('cache keys are SHA-256 digests, never the token itself', () => {
  const key = tokenCacheKey('secret-token');
  expect(key).toMatch(/^[0-9a-f]{64}$/);
  expect(key).not.toContain('secret');
});
