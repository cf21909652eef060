// Building blocks of the reference's Validate() functions, with its message texts, shared by the
// server and the agent.

import { type ConfigDeps, statNotExist } from './deps';
import { FlagError } from './flagError';
import { goQuote } from './flagValues';

export function invalidOptions(message: string): never {
  throw new FlagError('invalid-options', message);
}

/** `if _, err := os.Stat(p); os.IsNotExist(err) { return fmt.Errorf("error checking <what> %s, got %v", ...) }` */
export function requireFile(deps: ConfigDeps, what: string, path: string): void {
  if (path !== '' && !deps.fileExists(path))
    invalidOptions(`error checking ${what} ${path}, got ${statNotExist(path)}`);
}

/** A key needs its cert and the cert its key, and both must exist ("server", "cluster", "agent"). */
export function requireKeyPair(deps: ConfigDeps, label: string, key: string, cert: string): void {
  if (key !== '') {
    requireFile(deps, `${label} key`, key);
    if (cert === '')
      invalidOptions(`cannot have ${label} cert empty when ${label} key is set to ${goQuote(key)}`);
  }
  if (cert !== '') {
    requireFile(deps, `${label} cert`, cert);
    if (key === '')
      invalidOptions(`cannot have ${label} key empty when ${label} cert is set to ${goQuote(cert)}`);
  }
}

export function requirePositiveSize(size: number, label = 'channel size'): void {
  if (size <= 0) invalidOptions(`${label} ${size} must be greater than 0`);
}

/** Go's %v for an error's cause is its message; used to prefix reasons the way the reference does. */
export function requireCheck(why: string | undefined, prefix = ''): void {
  if (why !== undefined) invalidOptions(`${prefix}${why}`);
}
