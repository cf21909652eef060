/**
 * A machine's effects: the actions that reach the world (send a packet, open a socket, tell a frontend).
 * A pure machine declares them in one object, each as this no-op, next to a comment saying what it must
 * do; the actor that runs the machine provides every one of them through a port derived from the same
 * object (src/actors/portedMachine.ts), so an effect added to a machine cannot stay an unprovided no-op.
 * Context updates (`assign`) are not effects and stay in the machine's own `actions`.
 */
export const effect = (): void => {};

export type Effects<TNames extends string = string> = Readonly<Record<TNames, typeof effect>>;
