/**
 * Machines provided once per process. `machine.provide()` builds a new machine (about 10 KiB of heap and
 * 0.1 ms, measured by the benchmark), so calling it per connection was most of a connection's memory and a
 * good share of a dial's CPU. Instead each machine gets, once, actions that forward to the port of the
 * actor running them, looked up by `self`; an instance binds its port before its actor starts, so entry
 * actions find it too. The port's names come from the machine's effects object (src/machines/effects.ts),
 * so every effect a machine declares is forwarded, and no other action is.
 */
import type { AnyActorRef, AnyStateMachine, ContextFrom, EventFromLogic } from 'xstate';
import type { Effects } from '../machines/effects';

/** The arguments every action gets that ports use. */
export interface PortArgs<TContext, TEvent> {
  readonly context: TContext;
  readonly event: TEvent;
}

export type Port<TNames extends string, TContext, TEvent> = Record<
  TNames,
  (args: PortArgs<TContext, TEvent>) => void
>;

export interface PortedMachine<TMachine extends AnyStateMachine, TPort> {
  readonly machine: TMachine;
  bind(actor: AnyActorRef, port: TPort): void;
}

/** The port type of a ported machine. */
export type PortOf<T> = T extends PortedMachine<AnyStateMachine, infer P> ? P : never;

export function ported<TMachine extends AnyStateMachine, TNames extends string>(
  machine: TMachine,
  effects: Effects<TNames>,
): PortedMachine<TMachine, Port<TNames, ContextFrom<TMachine>, EventFromLogic<TMachine>>> {
  type TPort = Port<TNames, ContextFrom<TMachine>, EventFromLogic<TMachine>>;
  const ports = new WeakMap<AnyActorRef, TPort>();
  const actions: Record<string, (args: PortArgs<unknown, unknown> & { self: AnyActorRef }) => void> = {};
  for (const name of Object.keys(effects) as TNames[]) {
    actions[name] = (args) =>
      ports.get(args.self)?.[name](args as PortArgs<ContextFrom<TMachine>, EventFromLogic<TMachine>>);
  }
  return {
    machine: machine.provide({ actions } as never) as TMachine,
    bind: (actor, port) => ports.set(actor, port),
  };
}
