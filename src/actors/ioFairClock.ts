/**
 * The clock every actor's XState delays run on: a delay that has expired still lets I/O that is already
 * waiting go first.
 *
 * libuv runs expired timers before it polls for I/O. When the event loop has been held up (a burst of
 * thousands of dials at once, a CPU shared with other work), a dial's timeout then fires ahead of the
 * `connect` that completed well within it, and the dial is reported as timed out although the endpoint
 * answered in time: under load the agent blamed healthy targets with `i/o timeout`. Deferring each expiry
 * to the check phase (setImmediate) lets that loop turn's poll deliver what has arrived first; a delay that
 * really ran out costs one extra loop turn, and a machine that has left the delaying state meanwhile
 * cancels it as before.
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

interface Pending {
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
}

export const ioFairClock: Clock = {
  setTimeout(fn: (...args: unknown[]) => void, timeoutMs: number): Pending {
    const pending: Pending = { timer: undefined, immediate: undefined };
    pending.timer = setTimeout(() => {
      pending.timer = undefined;
      pending.immediate = setImmediate(() => {
        pending.immediate = undefined;
        fn();
      });
    }, timeoutMs);
    return pending;
  },
  clearTimeout(id: unknown): void {
    const pending = id as Pending;
    if (pending.timer) clearTimeout(pending.timer);
    if (pending.immediate) clearImmediate(pending.immediate);
    pending.timer = undefined;
    pending.immediate = undefined;
  },
};
