/** Runs the CLI in-process with captured output. */
import { runCli } from '../../src/cli/events';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(
  argv: string[],
  opts: { now?: number; signal?: AbortSignal; onStdout?: (s: string) => void } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => {
      stdout += t;
      opts.onStdout?.(stdout);
    },
    stderr: (t) => (stderr += t),
    now: () => opts.now ?? Date.now(),
    signal: opts.signal,
  });
  return { code, stdout, stderr };
}
