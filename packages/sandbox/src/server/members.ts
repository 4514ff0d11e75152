/**
 * The one reader of request members every emulated service uses (moto's `BaseResponse._get_param` plays this
 * part). It checks each member the way the service's API model constrains it — JSON type, required, length,
 * range, pattern, enum — so nothing malformed reaches a backend (the front door would turn an unexpected
 * exception into a 500). What a broken member answers differs by service and protocol (ECR's
 * `InvalidParameterException`, the JSON services' `ValidationException`/`SerializationException`, IAM's
 * Query `ValidationError`), so each service passes its own {@link MemberRules}; the checks are shared.
 */

export type Input = Record<string, unknown>;

/** How one service words a broken member. */
export interface MemberRules {
  /** A member of the wrong JSON type; `expected` reads "a string", "an integer", "a list of strings"… */
  wrongType(member: string, expected: string): Error;
  /** A member that breaks a constraint; `value` is what the message may show, `sensitive` hides it. */
  invalid(path: string, value: unknown, constraint: string, sensitive: boolean): Error;
  /** How a pattern is quoted in the constraint (default: its source). */
  patternText?(pattern: RegExp): string;
  /** A required string that is empty counts as missing (ECR; the Query protocol cannot tell them apart). */
  blankIsMissing?: boolean;
  /** The length bound a string member has when the caller gives none. */
  defaultMax?: number;
}

interface Located {
  /** Where the member stands, for the constraint messages (default: its name). */
  path?: string;
}

export interface StringRule extends Located {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Never echo the value (secret values). */
  sensitive?: boolean;
}

export interface IntRule extends Located {
  required?: boolean;
  min?: number;
  max?: number;
}

export interface ListRule extends Located {
  required?: boolean;
  min?: number;
  max?: number;
  /** The element shape shown in length messages (`Value '[Target]'`). */
  element?: string;
}

export interface StringListRule extends Located {
  required?: boolean;
  min?: number;
  max?: number;
  /** Each string's maximum length (each must have at least one character). */
  itemMax?: number;
}

const NOT_NULL = 'Member must not be null';

/** Request members of one structure, read under one service's rules. */
export class Members {
  readonly input: Input;
  readonly #rules: MemberRules;

  public constructor(input: Input, rules: MemberRules) {
    this.input = input;
    this.#rules = rules;
  }

  /** The members of a nested structure, read under the same rules. */
  at(input: Input): Members {
    return new Members(input, this.#rules);
  }

  has(name: string): boolean {
    return this.input[name] !== undefined && this.input[name] !== null;
  }

  str(name: string, rule: StringRule & { required: true }): string;
  str(name: string, rule?: StringRule): string | undefined;
  str(name: string, rule: StringRule = {}): string | undefined {
    const v = this.input[name];
    const path = rule.path ?? name;
    const sensitive = rule.sensitive ?? false;
    if (v === undefined || v === null) return this.#missing(path, rule.required);
    if (typeof v !== 'string') throw this.#rules.wrongType(name, 'a string');
    const shown = sensitive ? undefined : v;
    if (rule.required && this.#rules.blankIsMissing && v === '')
      throw this.#rules.invalid(path, undefined, NOT_NULL, false);
    if (rule.min !== undefined && v.length < rule.min)
      throw this.#rules.invalid(
        path,
        shown,
        `Member must have length greater than or equal to ${rule.min}`,
        sensitive,
      );
    const max = rule.max ?? this.#rules.defaultMax;
    if (max !== undefined && v.length > max)
      throw this.#rules.invalid(
        path,
        shown,
        `Member must have length less than or equal to ${max}`,
        sensitive,
      );
    if (rule.pattern && !rule.pattern.test(v)) {
      const text = this.#rules.patternText?.(rule.pattern) ?? rule.pattern.source;
      throw this.#rules.invalid(
        path,
        shown,
        `Member must satisfy regular expression pattern: ${text}`,
        sensitive,
      );
    }
    return v;
  }

  int(name: string, rule: IntRule & { required: true }): number;
  int(name: string, rule?: IntRule): number | undefined;
  int(name: string, rule: IntRule = {}): number | undefined {
    const v = this.input[name];
    const path = rule.path ?? name;
    if (v === undefined || v === null) return this.#missing(path, rule.required);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.#rules.wrongType(name, 'an integer');
    if (rule.min !== undefined && v < rule.min)
      throw this.#rules.invalid(
        path,
        v,
        `Member must have value greater than or equal to ${rule.min}`,
        false,
      );
    if (rule.max !== undefined && v > rule.max)
      throw this.#rules.invalid(path, v, `Member must have value less than or equal to ${rule.max}`, false);
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.input[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw this.#rules.wrongType(name, 'a boolean');
    return v;
  }

  /** A string member that must be one of `values`. */
  oneOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.input[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || !values.includes(v as T))
      throw this.#rules.invalid(name, v, `Member must satisfy enum value set: [${values.join(', ')}]`, false);
    return v as T;
  }

  /** A list member of any elements, its length checked. */
  list(name: string, rule: ListRule = {}): unknown[] | undefined {
    const v = this.input[name];
    const path = rule.path ?? name;
    if (v === undefined || v === null) return this.#missing(path, rule.required);
    if (!Array.isArray(v)) throw this.#rules.wrongType(name, 'a list');
    const shown = v.length === 0 ? '[]' : `[${rule.element ?? ''}]`;
    this.#length(path, shown, v.length, rule);
    return v;
  }

  /** A list of strings, each 1..itemMax characters when `itemMax` is given. */
  strList(name: string, rule: StringListRule = {}): string[] | undefined {
    const v = this.input[name];
    const path = rule.path ?? name;
    if (v === undefined || v === null) return this.#missing(path, rule.required);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
      throw this.#rules.wrongType(name, 'a list of strings');
    const list = v as string[];
    const shown = `[${list.join(', ')}]`;
    this.#length(path, shown, list.length, rule);
    const { itemMax } = rule;
    if (itemMax !== undefined && list.some((x) => x.length < 1 || x.length > itemMax))
      throw this.#rules.invalid(
        path,
        shown,
        `Member must satisfy constraint: [Member must have length between 1 and ${itemMax}]`,
        false,
      );
    return list;
  }

  /** A list of structures (Tags, Filters). */
  objects(name: string): Input[] | undefined {
    const v = this.input[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((x) => !x || typeof x !== 'object' || Array.isArray(x)))
      throw this.#rules.wrongType(name, 'a list of structures');
    return v as Input[];
  }

  /** A structure member, read under the same rules. */
  object(name: string): Members | undefined {
    const v = this.input[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw this.#rules.wrongType(name, 'a structure');
    return this.at(v as Input);
  }

  #missing(path: string, required: boolean | undefined): undefined {
    if (required) throw this.#rules.invalid(path, undefined, NOT_NULL, false);
    return undefined;
  }

  #length(path: string, shown: string, length: number, rule: { min?: number; max?: number }): void {
    if (rule.min !== undefined && length < rule.min)
      throw this.#rules.invalid(
        path,
        shown,
        `Member must have length greater than or equal to ${rule.min}`,
        false,
      );
    if (rule.max !== undefined && length > rule.max)
      throw this.#rules.invalid(
        path,
        shown,
        `Member must have length less than or equal to ${rule.max}`,
        false,
      );
  }
}
