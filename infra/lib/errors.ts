import { IConstruct } from 'constructs';

/** Marks l42's validation errors, so that they are recognised across copies of this module. */
const VALIDATION_ERROR = Symbol.for('l42.ValidationError');

/**
 * The error l42 throws when props, or a call made on a construct, cannot deploy: an empty
 * list, a malformed id, a choice outside its enum, a cache TTL that would be unsafe, a
 * missing build. Bound to the construct it concerns when there is one: `constructPath` is
 * that construct's path, and the message opens with it as `[Stack/Id] l42: …` (the way CDK
 * names a construct in its own validation errors).
 *
 * Why not aws-cdk-lib's `ValidationError`: in aws-cdk-lib 2.276.0 it (and
 * `UnscopedValidationError`) is marked `@internal`, absent from its jsii assembly, and its
 * constructor has changed shape before; only `Errors.isValidationError` is public. This class
 * is l42's own, with the same role.
 *
 * jsii cannot represent a subclass of `Error`, so this class is not exported from the
 * package: callers in any language tell l42's errors apart with
 * {@link L42Errors.isValidationError}, which also recognises an error from another copy of
 * this package.
 */
export class L42ValidationError extends Error {
  /** The path of the construct the error concerns; absent when none does (e.g. `L42Jwks`). */
  public readonly constructPath?: string;

  constructor(message: string, scope?: IConstruct, options?: { cause?: unknown }) {
    const path = scope?.node.path;
    super(path ? `[${path}] ${message}` : message, options);
    this.name = 'L42ValidationError';
    this.constructPath = path || undefined;
    Object.defineProperty(this, VALIDATION_ERROR, { value: true });
  }
}

/** Tells l42's errors apart, also when they come from another copy of this package. */
export class L42Errors {
  /** Whether `x` is an error l42 threw because props or a call on a construct were invalid. */
  static isValidationError(x: any): boolean {
    return x !== null && typeof x === 'object' && VALIDATION_ERROR in x;
  }

  private constructor() {}
}

/**
 * Throws an {@link L42ValidationError} unless `value` is one of the values of the enum
 * `choices` (TypeScript checks this already; plain JavaScript and other languages may pass
 * any string).
 */
export function checkChoice<T extends string>(scope: IConstruct, what: string, choices: Record<string, T>, value: T): T {
  const allowed = Object.values(choices);
  if (!allowed.includes(value)) {
    throw new L42ValidationError(
      `l42: ${what} must be one of ${allowed.map((v) => `'${v}'`).join(', ')}, not ${JSON.stringify(value)}`,
      scope,
    );
  }
  return value;
}
