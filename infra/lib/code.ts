import * as fs from 'fs';
import * as path from 'path';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** The three Rust binaries of l42, as cargo-lambda names their output folders. */
export type L42Binary = 'l42-authorizer' | 'l42-token-handler' | 'l42-refresh';

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

/** The workspace root (the folder holding `Cargo.toml` and `infra/`), from this file. */
export function workspaceRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'Cargo.toml')) && fs.existsSync(path.join(dir, 'infra'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error('l42: cannot find the Cargo workspace above ' + __dirname + '; pass lambdaDir or code');
}

/** The default cargo-lambda output folder. */
export function defaultLambdaDir(): string {
  return path.join(workspaceRoot(), 'target', 'lambda');
}

/** Resolves the code of `binary`, failing with a clear message when it was not built. */
export function l42Code(binary: L42Binary, options: L42CodeOptions): lambda.Code {
  if (options.code) return options.code;
  const dir = path.join(options.lambdaDir ?? defaultLambdaDir(), binary);
  const zip = path.join(dir, 'bootstrap.zip');
  if (fs.existsSync(zip)) return lambda.Code.fromAsset(zip);
  if (fs.existsSync(path.join(dir, 'bootstrap'))) return lambda.Code.fromAsset(dir);
  throw new Error(
    `l42: no ${binary} build in ${dir} (expected bootstrap or bootstrap.zip); ` +
      `run 'cargo lambda build --release --arm64' in the workspace first, or pass code`,
  );
}

/** The Lambda architecture for a choice of `arm64` (the default) or `x86_64`. */
export function l42Architecture(architecture?: lambda.Architecture): lambda.Architecture {
  return architecture ?? lambda.Architecture.ARM_64;
}

/** Lambda allows at most 4 KB for all environment variables of one function together. */
export const LAMBDA_ENV_LIMIT_BYTES = 4096;

/** Throws when `env` would exceed Lambda's 4 KB limit (keys and values, as UTF-8). */
export function checkEnvironmentSize(what: string, env: Record<string, string>): void {
  let total = 0;
  for (const [k, v] of Object.entries(env)) total += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (total > LAMBDA_ENV_LIMIT_BYTES) {
    throw new Error(
      `l42: the environment of ${what} is ${total} bytes, over Lambda's ${LAMBDA_ENV_LIMIT_BYTES}; ` +
        'embed fewer JWKS keys or pools',
    );
  }
}
