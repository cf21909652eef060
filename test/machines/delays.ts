/**
 * The event a machine's own `after` timer sends, read from the machine definition (StateNode.after) rather
 * than spelled out by hand, so tests can step through delays with the pure `transition()`.
 */
import type { AnyStateMachine, EventFromLogic } from 'xstate';

export function timerFires<TMachine extends AnyStateMachine>(
  machine: TMachine,
  stateId: string,
  delay: string,
): EventFromLogic<TMachine> {
  const transitions = machine.getStateNodeById(stateId).after as ReadonlyArray<{
    eventType: string;
    delay: string | number;
  }>;
  const timer = transitions.find((t) => t.delay === delay);
  if (!timer) throw new Error(`state ${stateId} has no '${delay}' timer`);
  // The timer's event is XState's own and not in the machine's event union: that is the one cast here.
  return { type: timer.eventType } as EventFromLogic<TMachine>;
}
