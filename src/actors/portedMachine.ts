/**
 * Machines provided once per process. `machine.provide()` builds a new machine (about 10 KiB of heap and
 * 0.1 ms, measured by the benchmark), so calling it per connection was most of a connection's memory and a
 * good share of a dial's CPU. Instead each machine gets, once, actions that forward to the port of the
 * actor running them, looked up by `self`; an instance binds its port before its actor starts, so entry
 * actions find it too.
 */
import type { AnyActorRef, AnyStateMachine } from 'xstate';

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

export function ported<TMachine extends AnyStateMachine, TNames extends string, TContext, TEvent>(
  machine: TMachine,
  names: readonly TNames[],
): PortedMachine<TMachine, Port<TNames, TContext, TEvent>> {
  const ports = new WeakMap<AnyActorRef, Port<TNames, TContext, TEvent>>();
  const actions: Record<string, (args: PortArgs<TContext, TEvent> & { self: AnyActorRef }) => void> = {};
  for (const name of names) {
    actions[name] = (args) => ports.get(args.self)?.[name](args);
  }
  return {
    machine: machine.provide({ actions } as never) as TMachine,
    bind: (actor, port) => ports.set(actor, port),
  };
}
