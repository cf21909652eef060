/**
 * Real NATS decentralised-auth material for tests, made with the nkeys the NATS client ships: an
 * operator, an account with JetStream enabled and a user, as signed JWTs (the format nsc writes), plus
 * the server config that trusts them and the user's `.creds` file. No nsc binary needed.
 */
import { nkeys } from '@nats-io/nats-core';
import { randomBytes } from 'node:crypto';

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const b64url = (data: Uint8Array | string): string => Buffer.from(data).toString('base64url');

function signJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims = b64url(
    JSON.stringify({
      // Any unique id: the server checks the signature and the claims, not how jti was derived.
      jti: randomBytes(16).toString('hex').toUpperCase(),
      iat: Math.floor(Date.now() / 1000),
      iss: issuer.getPublicKey(),
      name,
      sub: subject,
      nats: { ...nats, version: 2 },
    }),
  );
  const signature = b64url(issuer.sign(new TextEncoder().encode(`${header}.${claims}`)));
  return `${header}.${claims}.${signature}`;
}

export interface NatsJwtSetup {
  /** nats-server configuration: the trusted operator and the preloaded account. */
  readonly serverConfig: string;
  /** The content of the user's `.creds` file. */
  readonly creds: string;
  /** A `.creds` file for a user the account never signed (signed by an unrelated account). */
  readonly strangerCreds: string;
}

function credsFile(userJwt: string, user: KeyPair): string {
  const seed = new TextDecoder().decode(user.getSeed());
  return [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    seed,
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}

export function makeNatsJwtSetup(): NatsJwtSetup {
  const operator = nkeys.createOperator();
  const system = nkeys.createAccount();
  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const unlimited = {
    subs: -1,
    data: -1,
    payload: -1,
    imports: -1,
    exports: -1,
    wildcards: true,
    conn: -1,
    leaf: -1,
  };
  const operatorJwt = signJwt(operator, operator.getPublicKey(), 'test-operator', {
    type: 'operator',
    system_account: system.getPublicKey(),
  });
  const systemJwt = signJwt(operator, system.getPublicKey(), 'SYS', { type: 'account', limits: unlimited });
  const accountJwt = signJwt(operator, account.getPublicKey(), 'konnectivity', {
    type: 'account',
    limits: { ...unlimited, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  });
  const userJwt = signJwt(account, user.getPublicKey(), 'konnectivity-server', {
    type: 'user',
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  const stranger = nkeys.createUser();
  const strangerJwt = signJwt(nkeys.createAccount(), stranger.getPublicKey(), 'stranger', {
    type: 'user',
    pub: {},
    sub: {},
    subs: -1,
    data: -1,
    payload: -1,
  });
  const serverConfig = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${system.getPublicKey()}: ${systemJwt}`,
    `  ${account.getPublicKey()}: ${accountJwt}`,
    '}',
  ].join('\n');
  return { serverConfig, creds: credsFile(userJwt, user), strangerCreds: credsFile(strangerJwt, stranger) };
}
