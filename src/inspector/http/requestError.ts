import { ReasonedError } from '../../errors';

/**
 * A query parameter the inspector's API cannot read (`time=yesterday`): answered 400 with this message,
 * rather than guessed at, because a tool asking for the past must not be handed the present.
 */
export class InspectorRequestError extends ReasonedError<'bad-parameter'> {
  override readonly name = 'InspectorRequestError';

  constructor(message: string, options?: ErrorOptions) {
    super('bad-parameter', message, options);
  }
}
