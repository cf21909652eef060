// The options both binaries take with the same meaning, read from the flags in one place; each binary's
// options extend them with its own.

import {
  EVENT_LOG_OFF,
  parseEventLogLocation,
  type EventLogLocation,
  type NatsSecurityFiles,
} from '../persistence/eventLogLocation';
import type { StartupLogConfig } from '../persistence/startupLog';
import type { ConfigDeps } from './deps';
import { eventLogSecurity } from './eventLogFlags';
import type { ParsedFlags } from './flags';

export interface CommonOptions {
  readonly enableProfiling: boolean;
  readonly enableContentionProfiling: boolean;
  readonly keepaliveTimeMs: number;
  readonly xfrChannelSize: number;
  readonly leaseNamespace: string;
  readonly leaseLabel: string;
  readonly kubeconfig: string;
  readonly kubeApiContentType: string;
  /** Offer the credit flow-control extension to the peer. */
  readonly flowControl: boolean;
  /** Serve the live inspector on the admin port. */
  readonly inspector: boolean;
  /** klog -v. */
  readonly verbosity: number;
  /** --event-log as given (validated): what src/persistence's openEventLog takes. */
  readonly eventLog: string;
  /** --event-log-max-bytes: the embedded log's size bound. */
  readonly eventLogMaxBytes: number;
  /** --event-log resolved against --data-dir; null with --event-log=off. */
  readonly eventLogLocation: EventLogLocation | null;
  /** --event-log-tls-* and --event-log-creds, checked. */
  readonly eventLogSecurity: NatsSecurityFiles;
  readonly dataDir: string;
  /** Flags given explicitly (command line or environment), for start-up logging. */
  readonly setFlags: readonly string[];
}

export function commonOptions(f: ParsedFlags, deps: ConfigDeps): CommonOptions {
  const dataDir = f.string('data-dir');
  return {
    enableProfiling: f.bool('enable-profiling'),
    enableContentionProfiling: f.bool('enable-contention-profiling'),
    keepaliveTimeMs: f.duration('keepalive-time'),
    xfrChannelSize: f.int('xfr-channel-size'),
    leaseNamespace: f.string('lease-namespace'),
    leaseLabel: f.string('lease-label'),
    kubeconfig: f.string('kubeconfig'),
    kubeApiContentType: f.string('kube-api-content-type'),
    flowControl: f.bool('flow-control'),
    inspector: f.bool('inspector'),
    verbosity: f.int('v'),
    eventLog: f.string('event-log'),
    eventLogMaxBytes: f.int('event-log-max-bytes'),
    eventLogLocation:
      f.string('event-log').trim() === EVENT_LOG_OFF
        ? null
        : parseEventLogLocation(f.string('event-log'), dataDir),
    eventLogSecurity: eventLogSecurity(f, deps),
    dataDir,
    setFlags: [...f.changed],
  };
}

/** How the process treats its lifecycle log at start-up, from the options that choose it. */
export function startupLogConfig(o: CommonOptions): StartupLogConfig {
  return {
    eventLog: o.eventLog,
    dataDir: o.dataDir,
    maxBytes: o.eventLogMaxBytes,
    explicit: o.setFlags.includes('event-log') || o.setFlags.includes('data-dir'),
    natsSecurity: o.eventLogSecurity,
  };
}
