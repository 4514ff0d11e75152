import { smErrors } from './errors.ts';

/**
 * Reading a JSON 1.1 request body member by member, the way the service's model constrains it: a wrong JSON
 * type is a SerializationException, a missing required member or one out of its length/range a
 * ValidationException naming the member. Nothing malformed reaches the backend (the front door would turn
 * an unexpected exception into a 500).
 */
export class Members {
  readonly #input: Record<string, unknown>;

  public constructor(input: Record<string, unknown>) {
    this.#input = input;
  }

  has(name: string): boolean {
    return this.#input[name] !== undefined && this.#input[name] !== null;
  }

  str(name: string, opts: { required: true; min?: number; max?: number; sensitive?: boolean }): string;
  str(
    name: string,
    opts?: { required?: false; min?: number; max?: number; sensitive?: boolean },
  ): string | undefined;
  str(
    name: string,
    opts: { required?: boolean; min?: number; max?: number; sensitive?: boolean } = {},
  ): string | undefined {
    const v = this.#input[name];
    if (v === undefined || v === null) {
      if (opts.required) throw smErrors.validation(name, undefined, 'Member must not be null');
      return undefined;
    }
    if (typeof v !== 'string') throw smErrors.serialization(name, 'a string');
    const shown = opts.sensitive ? undefined : v;
    if (opts.min !== undefined && v.length < opts.min) {
      throw smErrors.validation(
        name,
        shown,
        `Member must have length greater than or equal to ${opts.min}`,
        opts.sensitive,
      );
    }
    if (opts.max !== undefined && v.length > opts.max) {
      throw smErrors.validation(
        name,
        shown,
        `Member must have length less than or equal to ${opts.max}`,
        opts.sensitive,
      );
    }
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.#input[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw smErrors.serialization(name, 'a boolean');
    return v;
  }

  int(name: string, opts: { min?: number; max?: number } = {}): number | undefined {
    const v = this.#input[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw smErrors.serialization(name, 'an integer');
    if (opts.min !== undefined && v < opts.min)
      throw smErrors.validation(name, v, `Member must have value greater than or equal to ${opts.min}`);
    if (opts.max !== undefined && v > opts.max)
      throw smErrors.validation(name, v, `Member must have value less than or equal to ${opts.max}`);
    return v;
  }

  /** A list of strings, each 1..itemMax characters. */
  strList(name: string, opts: { min?: number; max?: number; itemMax?: number } = {}): string[] | undefined {
    const v = this.#input[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw smErrors.serialization(name, 'a list of strings');
    const list = v as string[];
    if (opts.min !== undefined && list.length < opts.min) {
      throw smErrors.validation(
        name,
        `[${list.join(', ')}]`,
        `Member must have length greater than or equal to ${opts.min}`,
      );
    }
    if (opts.max !== undefined && list.length > opts.max) {
      throw smErrors.validation(
        name,
        `[${list.join(', ')}]`,
        `Member must have length less than or equal to ${opts.max}`,
      );
    }
    const bad = list.find((x) => x.length < 1 || (opts.itemMax !== undefined && x.length > opts.itemMax));
    if (bad !== undefined) {
      throw smErrors.validation(
        name,
        `[${list.join(', ')}]`,
        `Member must satisfy constraint: [Member must have length between 1 and ${opts.itemMax ?? 'any'}]`,
      );
    }
    return list;
  }

  /** A list of objects (Tags, Filters). */
  objects(name: string): Record<string, unknown>[] | undefined {
    const v = this.#input[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => !x || typeof x !== 'object' || Array.isArray(x))) {
      throw smErrors.serialization(name, 'a list of structures');
    }
    return v as Record<string, unknown>[];
  }

  object(name: string): Members | undefined {
    const v = this.#input[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw smErrors.serialization(name, 'a structure');
    return new Members(v as Record<string, unknown>);
  }
}
