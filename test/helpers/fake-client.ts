/** What a fake client answers a command with: a value, or a function of the command's input. */
export type Answer =
  | ((input: Record<string, unknown>) => unknown)
  | object
  | string
  | number
  | boolean
  | null
  | undefined;

/** A command a fake client received. */
export interface RecordedCall {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/**
 * A stand-in for an AWS SDK v3 client: `send` answers each command by its class name from `answers` — a
 * value, or a function of the command's input (an Error, returned or thrown, is thrown) — and records the
 * call. A command without an answer fails, so a test sees every call the code makes. `T` is the client type
 * the code under test expects.
 */
export function fakeClient<T = { send(command: object): Promise<never> }>(
  answers: Readonly<Record<string, Answer>>,
): T & { calls: RecordedCall[]; destroy(): void } {
  const calls: RecordedCall[] = [];
  const client = {
    calls,
    send: async (command: { constructor: { name: string }; input: unknown }) => {
      const name = command.constructor.name;
      const input = command.input as Record<string, unknown>;
      calls.push({ command: name, input });
      if (!(name in answers)) throw new Error(`fake client: no answer for ${name}`);
      const answer = answers[name];
      const out =
        typeof answer === 'function' ? await (answer as (i: typeof input) => unknown)(input) : answer;
      if (out instanceof Error) throw out;
      return out;
    },
    destroy: () => {},
  };
  return client as unknown as T & { calls: RecordedCall[]; destroy(): void };
}
