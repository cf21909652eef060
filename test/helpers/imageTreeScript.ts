/**
 * scripts/image-tree.js, typed for the tests that read the Dockerfile through it. It is plain JavaScript
 * (it runs before any build), and its parser is the one that builds the image tree, so the tests use it
 * rather than a parser of their own.
 */
export interface DockerStep {
  readonly instruction: string;
  readonly rest: string;
}

export interface DockerStage {
  readonly base: string;
  readonly name: string;
  readonly steps: readonly DockerStep[];
}

export interface ImageConfig {
  readonly user: string;
  readonly env: Record<string, string>;
  readonly workdir: string;
  readonly entrypoint: string[];
}

export interface ImageTreeScript {
  parseDockerfile(text: string): DockerStage[];
  assembleImageTree(options: { out: string; dockerfile: string; context: string }): {
    rootfs: string;
    config: ImageConfig;
  };
  readonly NODE_PATH_IN_IMAGE: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const imageTree = require('../../scripts/image-tree.js') as ImageTreeScript;
