export {
  AGENT_AUTH_FAILURE_CODES,
  AUTH_CACHE_MAX_ENTRIES,
  AUTH_CACHE_TTL_MS,
  createAgentTokenAuthenticator,
  createAuthenticatorWithClient,
  type AgentAuthFailureCode,
  type AgentAuthResult,
  type AgentTokenAuthenticator,
  type AgentTokenAuthenticatorOptions,
} from './agentTokenAuthenticator';
export { systemAuthClock, type AuthClock } from './clock';
export {
  isKubeconfigError,
  isTokenReviewError,
  KubeconfigError,
  TokenReviewError,
  type KubeconfigErrorReason,
  type TokenReviewErrorReason,
} from './errors';
export { loadInClusterConfig, loadKubeClientConfig } from './inClusterConfig';
export { loadKubeconfig, parseKubeconfig, type KubeClientConfig } from './kubeconfig';
export {
  createRateLimiter,
  resolveRateLimits,
  TokenBucketRateLimiter,
  type RateLimiter,
} from './rateLimiter';
export {
  createTokenReviewClient,
  TOKEN_REVIEW_TIMEOUT_MS,
  type TokenReviewClient,
  type TokenReviewStatus,
} from './tokenReviewClient';
