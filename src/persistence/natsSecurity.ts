/**
 * How the event log authenticates to NATS and secures the link: user/password or a token in the URL,
 * a `.creds` file (user JWT + nkey seed), TLS with a private CA and an optional client certificate.
 * Everything is checked here, once, at start-up, with the flag and the file named: a typo must not turn
 * into an endless, silent reconnect loop while events pile up in the outbox.
 */
import { credsAuthenticator, nkeys, type ConnectionOptions } from '@nats-io/nats-core';
import { readFileSync } from 'node:fs';
import { redactCredentials } from '../observability/redact';
import { EventLogError, errorText } from './errors';
import { NATS_SECURITY_FLAGS, type NatsSecurityFiles } from './eventLogLocation';

/** The connect options that carry servers, credentials and TLS; the caller adds timeouts and names. */
export type NatsConnectSettings = Pick<ConnectionOptions, 'servers' | 'user' | 'pass' | 'token' | 'tls'> &
  Pick<ConnectionOptions, 'authenticator'> & { readonly servers: string[] };

// The block layout nats.js and nats.go parse: the JWT between the first pair of dashed lines, the
// seed between the second.
const CREDS_BLOCK = /\s*(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n)/g;

/**
 * Splits credentials out of the server URLs (nats.js ignores URL userinfo, so they must become
 * options) and reads and checks every named file. Throws EventLogError with the flag and file named.
 */
export function natsConnectSettings(
  urls: readonly string[],
  files: NatsSecurityFiles = {},
): NatsConnectSettings {
  const servers: string[] = [];
  let userinfo: { user: string; pass: string | undefined } | undefined;
  let wantsTls = false;
  for (const raw of urls) {
    const url = parseServerUrl(raw);
    if (url.protocol === 'tls:') wantsTls = true;
    if (url.username !== '' || url.password !== '') {
      const found = {
        user: decodeURIComponent(url.username),
        pass: url.password === '' && !raw.includes(':@') ? undefined : decodeURIComponent(url.password),
      };
      if (userinfo !== undefined && (userinfo.user !== found.user || userinfo.pass !== found.pass)) {
        throw new EventLogError(
          'invalid-spec',
          '--event-log: every NATS URL must carry the same credentials (one connection, one identity)',
        );
      }
      userinfo = found;
    }
    servers.push(`${url.protocol}//${url.host}`);
  }
  if (userinfo !== undefined && files.creds !== undefined) {
    throw new EventLogError(
      'invalid-spec',
      `--event-log carries credentials and --${NATS_SECURITY_FLAGS.creds} is set: give one of them`,
    );
  }
  if ((files.tlsCert === undefined) !== (files.tlsKey === undefined)) {
    throw new EventLogError(
      'invalid-spec',
      files.tlsCert === undefined
        ? `--${NATS_SECURITY_FLAGS.tlsKey} needs --${NATS_SECURITY_FLAGS.tlsCert}`
        : `--${NATS_SECURITY_FLAGS.tlsCert} needs --${NATS_SECURITY_FLAGS.tlsKey}`,
    );
  }

  const settings: NatsConnectSettings = { servers };
  if (userinfo !== undefined) {
    // `nats://token@host` (no colon) is a token, as nats.go reads it.
    if (userinfo.pass === undefined) settings.token = userinfo.user;
    else {
      settings.user = userinfo.user;
      settings.pass = userinfo.pass;
    }
  }
  if (files.creds !== undefined) {
    checkCreds(files.creds);
    const path = files.creds;
    // Read at every connect, so a rotated .creds file is picked up on the next reconnect.
    settings.authenticator = credsAuthenticator(() => readFileSync(path));
  }
  if (wantsTls || files.tlsCa !== undefined || files.tlsCert !== undefined) {
    // File paths rather than contents: nats.js reads them at every connect, so rotated certificates
    // are used after the next reconnect. They are read once here so that a bad path fails the start.
    if (files.tlsCa !== undefined) readChecked(files.tlsCa, 'tlsCa', isPem);
    if (files.tlsCert !== undefined) readChecked(files.tlsCert, 'tlsCert', isPem);
    if (files.tlsKey !== undefined) readChecked(files.tlsKey, 'tlsKey', isPem);
    // An object, even empty, makes nats.js refuse a server that does not offer TLS.
    settings.tls = {
      ...(files.tlsCa !== undefined ? { caFile: files.tlsCa } : {}),
      ...(files.tlsCert !== undefined ? { certFile: files.tlsCert, keyFile: files.tlsKey } : {}),
    };
  }
  return settings;
}

function parseServerUrl(raw: string): URL {
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'nats:' && url.protocol !== 'tls:') throw new TypeError(`scheme ${url.protocol}`);
    if (url.host === '') throw new TypeError('no host');
    return url;
  } catch (cause) {
    throw new EventLogError(
      'invalid-spec',
      `--event-log: ${JSON.stringify(redactCredentials(raw))} is not nats://[user:password@]host:port`,
      { cause },
    );
  }
}

function readChecked(
  path: string,
  field: keyof NatsSecurityFiles,
  valid: (text: string) => string | undefined,
): string {
  const flag = `--${NATS_SECURITY_FLAGS[field]}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new EventLogError('unreadable', `cannot read ${flag} ${path}: ${errorText(cause)}`, { cause });
  }
  const problem = valid(text);
  if (problem !== undefined) throw new EventLogError('invalid-spec', `${flag} ${path}: ${problem}`);
  return text;
}

function isPem(text: string): string | undefined {
  return /-----BEGIN [A-Z0-9 ]+-----/.test(text) ? undefined : 'not a PEM file';
}

function checkCreds(path: string): void {
  readChecked(path, 'creds', (text) => {
    const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => m[1]!.trim());
    if (blocks.length < 2) return 'not a NATS .creds file (want a user JWT block and an nkey seed block)';
    const [jwt, seed] = blocks as [string, string];
    if (jwt.split('.').length !== 3) return 'the first block is not a JWT';
    try {
      nkeys.fromSeed(new TextEncoder().encode(seed));
    } catch (err) {
      return `the second block is not an nkey seed (${errorText(err)})`;
    }
    return undefined;
  });
}
export type { NatsSecurityFiles } from './eventLogLocation';
