/**
 * Typed errors of the Kubernetes client side of agent authentication. Each has a literal `reason` (for
 * tests and metric labels) and wraps its `cause`; the message is what an operator reads in the log line.
 */
import { ReasonedError } from '../errors';

export const KUBECONFIG_ERROR_REASONS = [
  'read-failed', // the kubeconfig, or a file it names, cannot be read
  'invalid-yaml', // not YAML, or not a mapping where one is required
  'missing-field', // a field that must be there is empty or absent
  'not-found', // current-context, or the cluster/user it names, is not in the file
  'invalid-value', // a field is there but unusable (bad URL, bad base64, conflicting fields, bad PEM)
  'unsupported', // exec / auth-provider credentials: plugins we do not run
  'in-cluster-unavailable', // no --kubeconfig and not running in a pod
] as const;

export type KubeconfigErrorReason = (typeof KUBECONFIG_ERROR_REASONS)[number];

export class KubeconfigError extends ReasonedError<KubeconfigErrorReason> {
  override readonly name = 'KubeconfigError';
}

export const TOKEN_REVIEW_ERROR_REASONS = [
  'invalid-options', // qps/burst/content type the client cannot honour; raised at start-up
  'rate-limited', // the client-side limiter could not grant a slot before the deadline
  'aborted', // the caller gave up (the agent hung up)
  'timeout', // the API server took longer than the request timeout
  'unreachable', // connect/TLS/socket failure
  'http-status', // the API server answered with a non-2xx status
  'invalid-response', // a 2xx whose body is not a TokenReview
  'credentials', // the bearer token file cannot be read
  'closed', // the client was closed
] as const;

export type TokenReviewErrorReason = (typeof TOKEN_REVIEW_ERROR_REASONS)[number];

export class TokenReviewError extends ReasonedError<TokenReviewErrorReason> {
  override readonly name = 'TokenReviewError';
  /** The HTTP status for reason 'http-status'. */
  readonly statusCode: number | undefined;

  constructor(
    reason: TokenReviewErrorReason,
    message: string,
    options?: ErrorOptions & { statusCode?: number },
  ) {
    super(reason, message, options);
    this.statusCode = options?.statusCode;
  }
}

export const isKubeconfigError = (e: unknown): e is KubeconfigError => e instanceof KubeconfigError;
export const isTokenReviewError = (e: unknown): e is TokenReviewError => e instanceof TokenReviewError;
