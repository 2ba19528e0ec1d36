import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Annotations } from 'aws-cdk-lib';
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
 * `code` (any Lambda code, e.g. from your own pipeline); else the folder
 * `<lambdaDir>/<binary>/` written by `cargo lambda build --release` (holding `bootstrap`,
 * or `bootstrap.zip` with `--output-format zip`); else the zip this package carries for the
 * function's architecture (`lambda/<arm64|x86_64>/<binary>/bootstrap.zip`, listed with its
 * SHA-256 in `lambda/manifest.json` by `scripts/package`).
 *
 * Synthesis never builds Rust. A package whose zips are stand-ins (`scripts/package
 * --stand-in`, for tests) fails synthesis unless the context value
 * `l42:allowStandInCode` is `true`, and then warns: a stand-in is never deployed silently.
 */
export interface L42CodeOptions {
  /** The function's code; when given, nothing else is read. */
  readonly code?: lambda.Code;
  /**
   * A folder holding one sub-folder per binary, as cargo-lambda writes them (your own
   * build, instead of the one in this package).
   * @default the Lambda code this package carries
   */
  readonly lambdaDir?: string;
}

/** The name of this package in its `package.json`. */
const PACKAGE_NAME = 'l42-cdk';

/**
 * The folder of this package (the one whose `package.json` names it), from this file; in
 * the workspace that is `infra/`.
 */
export function packageRoot(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      // not here; look further up
    }
    dir = path.dirname(dir);
  }
  return undefined;
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

/** The Lambda code a package carries: what `scripts/package` writes as `lambda/manifest.json`. */
interface BundleManifest {
  readonly format: number;
  /** `release`, or `stand-in` (small placeholder zips that cannot run, for tests). */
  readonly kind: string;
  /** The commit the zips were built from. */
  readonly commit?: string;
  /** Per architecture (`arm64`, `x86_64`), per binary: the zip's path in `lambda/`, SHA-256 and size. */
  readonly binaries: Record<string, Record<string, { file: string; sha256: string; bytes: number }>>;
}

/** The context value that lets a package with stand-in zips synthesize (with a warning). */
export const ALLOW_STAND_IN_CONTEXT = 'l42:allowStandInCode';

const checkedZips = new Map<string, string>();

/** SHA-256 of `file`, read once per process. */
function sha256Of(file: string): string {
  let sum = checkedZips.get(file);
  if (sum === undefined) {
    sum = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    checkedZips.set(file, sum);
  }
  return sum;
}

/**
 * The zip this package carries for `binary` on `architecture` (in `dir`, by default the
 * package's `lambda/`), checked against the manifest; an {@link L42ValidationError} bound to `scope` when there is none, it does not
 * match, or it is a stand-in that the app did not allow.
 */
export function bundledCode(
  scope: IConstruct,
  binary: L42Binary,
  architecture: lambda.Architecture,
  dir: string = path.join(packageRoot() ?? '.', 'lambda'),
): lambda.Code {
  const manifestFile = path.join(dir, 'manifest.json');
  const fail = (why: string): never => {
    throw new L42ValidationError(`l42: ${why}`, scope);
  };
  let manifest: BundleManifest | undefined;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as BundleManifest;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    return fail(
      missing
        ? `this copy of ${PACKAGE_NAME} carries no Lambda code (no ${manifestFile}: it was not made by scripts/package); ` +
            'pass lambdaDir (your cargo-lambda build) or code'
        : `${manifestFile} does not parse: ${(e as Error).message}`,
    );
  }
  const arch = architecture.name;
  const entry = manifest?.binaries?.[arch]?.[binary];
  if (!manifest || manifest.format !== 1 || !entry || typeof entry.file !== 'string') {
    return fail(`${manifestFile} lists no ${binary} for ${arch}; pass lambdaDir or code`);
  }
  const zip = path.resolve(dir, entry.file);
  if (path.relative(dir, zip).startsWith('..') || !fs.existsSync(zip)) {
    return fail(`the ${binary} zip for ${arch} (${entry.file}) is missing from ${dir}`);
  }
  if (sha256Of(zip) !== entry.sha256) {
    return fail(`${zip} does not match its SHA-256 in ${manifestFile}: the package is damaged; reinstall it`);
  }
  if (manifest.kind !== 'release') {
    const allowed = String(scope.node.tryGetContext(ALLOW_STAND_IN_CONTEXT)) === 'true';
    const what = `this copy of ${PACKAGE_NAME} carries stand-in Lambda code (${manifest.kind}), which cannot run`;
    if (!allowed) {
      return fail(
        `${what}: install a package made by scripts/package, pass lambdaDir or code ` +
          `(or set the context value ${ALLOW_STAND_IN_CONTEXT}=true to synthesize anyway, for tests)`,
      );
    }
    Annotations.of(scope).addWarningV2('l42:stand-in-code', `${what}; do not deploy this template`);
  }
  return lambda.Code.fromAsset(zip);
}

/**
 * Resolves the code of `binary` for the construct `scope` on `architecture` (see
 * {@link L42CodeOptions} for the order), throwing an {@link L42ValidationError} bound to it,
 * with what to do, when there is none.
 */
export function l42Code(
  scope: IConstruct,
  binary: L42Binary,
  options: L42CodeOptions,
  architecture?: lambda.Architecture,
): lambda.Code {
  if (options.code) return options.code;
  if (options.lambdaDir === undefined) return bundledCode(scope, binary, l42Architecture(architecture));
  const dir = path.join(options.lambdaDir, binary);
  const zip = path.join(dir, 'bootstrap.zip');
  if (fs.existsSync(zip)) return lambda.Code.fromAsset(zip);
  if (fs.existsSync(path.join(dir, 'bootstrap'))) return lambda.Code.fromAsset(dir);
  throw new L42ValidationError(
    `l42: no ${binary} build in ${dir} (expected bootstrap or bootstrap.zip); ` +
      `run 'cargo lambda build --release --arm64' in the workspace first, or pass code`,
    scope,
  );
}

/** The CloudFront Functions' folder: the copy this package carries, else the workspace's `edge/functions`. */
export function defaultFunctionsDir(scope: IConstruct): string {
  const root = packageRoot();
  const bundled = root ? path.join(root, 'edge-functions') : undefined;
  if (bundled && fs.existsSync(path.join(bundled, 'auth-router.js'))) return bundled;
  return path.join(workspaceRoot(scope), 'edge', 'functions');
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
