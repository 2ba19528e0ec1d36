import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { IConstruct } from 'constructs';
import { L42ValidationError } from './errors';

/** The three Rust binaries of l42; the values are cargo-lambda's output folder names. */
export enum L42Binary {
  /** The Lambda authorizer. */
  AUTHORIZER = 'l42-authorizer',
  /** The token handler (every `/auth/*` endpoint but refresh). */
  TOKEN_HANDLER = 'l42-token-handler',
  /** The refresh function (`/auth/refresh`). */
  REFRESH = 'l42-refresh',
}

/**
 * Where a function's code comes from. Exactly one way is used, in this order:
 * `code` (any Lambda code, e.g. from your own pipeline), else the folder
 * `<lambdaDir>/<binary>/` written by `cargo lambda build --release --arm64`
 * (holding `bootstrap`, or `bootstrap.zip` with `--output-format zip`).
 *
 * Synthesis never builds Rust: build first, then synthesize. Tests point `lambdaDir`
 * at a folder with small `bootstrap` files.
 */
export interface L42CodeOptions {
  /** The function's code; when given, `lambdaDir` is not read. */
  readonly code?: lambda.Code;
  /**
   * The folder holding one sub-folder per binary, as cargo-lambda writes them.
   * @default `target/lambda` of the Cargo workspace that holds this package
   */
  readonly lambdaDir?: string;
}

/**
 * The workspace root (the folder holding `Cargo.toml` and `infra/`), from this file. When
 * there is none, throws an {@link L42ValidationError} bound to `scope`, the construct that
 * needed a default (pass `lambdaDir`, `code` or `functionsDir` instead).
 */
export function workspaceRoot(scope?: IConstruct): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'Cargo.toml')) && fs.existsSync(path.join(dir, 'infra'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new L42ValidationError(
    `l42: cannot find the Cargo workspace above ${__dirname}; pass lambdaDir, code or functionsDir`,
    scope,
  );
}

/** The default cargo-lambda output folder (see {@link workspaceRoot} for `scope`). */
export function defaultLambdaDir(scope?: IConstruct): string {
  return path.join(workspaceRoot(scope), 'target', 'lambda');
}

/**
 * Resolves the code of `binary` for the construct `scope`, throwing an
 * {@link L42ValidationError} bound to it, with the command to run, when it was not built.
 */
export function l42Code(scope: IConstruct, binary: L42Binary, options: L42CodeOptions): lambda.Code {
  if (options.code) return options.code;
  const dir = path.join(options.lambdaDir ?? defaultLambdaDir(scope), binary);
  const zip = path.join(dir, 'bootstrap.zip');
  if (fs.existsSync(zip)) return lambda.Code.fromAsset(zip);
  if (fs.existsSync(path.join(dir, 'bootstrap'))) return lambda.Code.fromAsset(dir);
  throw new L42ValidationError(
    `l42: no ${binary} build in ${dir} (expected bootstrap or bootstrap.zip); ` +
      `run 'cargo lambda build --release --arm64' in the workspace first, or pass code`,
    scope,
  );
}

/** The Lambda architecture for a choice of `arm64` (the default) or `x86_64`. */
export function l42Architecture(architecture?: lambda.Architecture): lambda.Architecture {
  return architecture ?? lambda.Architecture.ARM_64;
}

/** Lambda allows at most 4 KB for all environment variables of one function together. */
export const LAMBDA_ENV_LIMIT_BYTES = 4096;

/**
 * Throws an {@link L42ValidationError} bound to `scope` when `env` would exceed Lambda's
 * 4 KB limit (keys and values, as UTF-8).
 */
export function checkEnvironmentSize(scope: IConstruct, what: string, env: Record<string, string>): void {
  let total = 0;
  for (const [k, v] of Object.entries(env)) total += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (total > LAMBDA_ENV_LIMIT_BYTES) {
    throw new L42ValidationError(
      `l42: the environment of ${what} is ${total} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}; ` +
        'embed fewer JWKS keys or pools',
      scope,
    );
  }
}
