/**
 * The Authorization header a Kubernetes client sends, from the kubeconfig's user. A token file is re-read
 * at most once a minute, like client-go's NewCachedFileTokenSource, so a rotated projected token is picked
 * up without a restart and without a file read per request.
 */
import { readFile } from 'fs/promises';
import type { AuthClock } from './clock';
import { TokenReviewError } from './errors';
import { messageOf, type KubeCredentials } from './kubeconfig';

/** client-go's cachingTokenSource period for file tokens. */
export const TOKEN_FILE_REFRESH_MS = 60_000;

export interface AuthorizationSource {
  /** The header value, or undefined when the user has no token or basic credentials. */
  header(): Promise<string | undefined>;
}

export function createAuthorizationSource(
  credentials: KubeCredentials,
  clock: AuthClock,
  warn: (message: string) => void = () => {},
): AuthorizationSource {
  switch (credentials.kind) {
    case 'none':
      return { header: () => Promise.resolve(undefined) };
    case 'token':
      return { header: () => Promise.resolve(`Bearer ${credentials.token}`) };
    case 'basic': {
      const value = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      return { header: () => Promise.resolve(value) };
    }
    case 'token-file':
      return fileTokenSource(credentials.path, clock, warn);
    default: {
      const _exhaustive: never = credentials;
      return _exhaustive;
    }
  }
}

function fileTokenSource(
  file: string,
  clock: AuthClock,
  warn: (message: string) => void,
): AuthorizationSource {
  let cached: { token: string; readAt: number } | undefined;
  let reading: Promise<string> | undefined;

  const read = async (): Promise<string> => {
    try {
      const token = (await readFile(file, 'utf8')).trim();
      if (token === '') throw new Error('the file is empty');
      cached = { token, readAt: clock.now() };
      return token;
    } catch (err) {
      // A rotation that fails (kubelet mid-write) keeps the previous token working, as client-go does.
      if (cached) {
        warn(`Unable to rotate token: reading ${file}: ${messageOf(err)}`);
        cached = { ...cached, readAt: clock.now() };
        return cached.token;
      }
      throw new TokenReviewError(
        'credentials',
        `reading token file ${JSON.stringify(file)}: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
  };

  return {
    header: async () => {
      if (cached && clock.now() - cached.readAt < TOKEN_FILE_REFRESH_MS) return `Bearer ${cached.token}`;
      reading ??= read().finally(() => (reading = undefined));
      return `Bearer ${await reading}`;
    },
  };
}
