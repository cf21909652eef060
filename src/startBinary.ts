/**
 * What both binaries do from argv to a running process: parse the flags (exiting as pflag would on a bad
 * command line), build the klog logger, install the last-resort guard, log start-up warnings, start, and
 * exit 1 with the reason when starting fails. Once started, the young generation may grow again
 * (startupHeap.ts), a quiet process gives back what load made its heap grow (heapTrim.ts), and the end of
 * a large transfer what it made the C heap grow (transferTrim.ts). Each binary keeps its own signal policy
 * in `started`.
 */
import { parseOrExit, type ParseFn } from './config/cli';
import { installLastResort } from './observability/lastResort';
import { createLogger, type Logger } from './observability/logger';
import { startHeapTrim } from './heapTrim';
import { nativeMemoryProblem } from './nativeMemory';
import { startTransferTrim } from './transferTrim';
import { releaseYoungGeneration } from './startupHeap';

export interface Binary<TOptions extends { verbosity: number; warnings: readonly string[] }, TRunning> {
  readonly name: string;
  /** The logger's component, and the word in "konnectivity <component> failed to start". */
  readonly component: 'server' | 'agent';
  readonly parse: ParseFn<TOptions>;
  readonly start: (options: TOptions, log: Logger) => Promise<TRunning>;
  readonly started: (running: TRunning, log: Logger) => void;
}

export function startBinary<TOptions extends { verbosity: number; warnings: readonly string[] }, TRunning>(
  binary: Binary<TOptions, TRunning>,
  argv: string[],
): void {
  const options = parseOrExit(binary.parse, argv, process.env, binary.name);
  const log = createLogger({ verbosity: options.verbosity, component: binary.component });
  installLastResort(log);
  for (const warning of options.warnings) log.warn(warning);
  binary.start(options, log).then(
    (running) => {
      releaseYoungGeneration();
      startHeapTrim(log);
      if (!startTransferTrim(log)) {
        log.info("glibc's free heap is not given back after large transfers", {
          reason: nativeMemoryProblem() ?? 'unknown',
        });
      }
      binary.started(running, log);
    },
    (err: unknown) => {
      log.error(`konnectivity ${binary.component} failed to start`, err);
      process.exit(1);
    },
  );
}
