import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { L42ValidationError } from './errors';

/** Options of {@link L42Jwks.fromUrl}. */
export interface L42JwksUrlOptions {
  /** How long the fetch at synth time may take, in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * A JWKS embedded in the authorizer's environment (`JWKS_JSON`), so that no network call
 * sits on the cold-start path. Keys are still refetched once (single flight, with a
 * cool-down) when a token names an unknown `kid`, so Cognito key rotation keeps working.
 *
 * Accepted shapes, as the authorizer reads them: `{"keys":[…]}` (for every pool) or
 * `{"<poolId>":{"keys":[…]}}` (one JWKS per pool).
 *
 * A JWKS is made before the authorizer that embeds it, so a malformed one throws an
 * {@link L42ValidationError} bound to no construct (`constructPath` absent).
 */
export class L42Jwks {
  /** A JWKS given as an object or as JSON text. */
  static fromJson(jwks: unknown): L42Jwks {
    const value = typeof jwks === 'string' ? parse(jwks, 'the JWKS text') : jwks;
    return new L42Jwks(value);
  }

  /** A JWKS read from a file at synth time. */
  static fromFile(file: string): L42Jwks {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new L42ValidationError(`l42: cannot read the JWKS file ${file}: ${(e as Error).message}`, undefined, {
        cause: e,
      });
    }
    return new L42Jwks(parse(text, file));
  }

  /**
   * A JWKS fetched once at synth time from `url` (for a Cognito pool:
   * `https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json`).
   * Only `https://`, or plain `http://` on a loopback address, is accepted. Synthesis fails
   * when the fetch fails or answers something else than a JWKS; nothing is fetched unless
   * this is called.
   */
  static fromUrl(url: string, options: L42JwksUrlOptions = {}): L42Jwks {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new L42ValidationError(`l42: the JWKS URL \`${url}\` is not a URL`);
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) {
      throw new L42ValidationError(`l42: the JWKS URL \`${url}\` must be https:// (plain http only on loopback)`);
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    // Construct code is synchronous: the fetch runs in a child Node process.
    const script = `
      const ac = AbortSignal.timeout(${timeoutMs});
      fetch(process.argv[1], { signal: ac, redirect: 'error' })
        .then(async (r) => {
          if (!r.ok) throw new Error('HTTP ' + r.status);
          process.stdout.write(await r.text());
        })
        .catch((e) => { process.stderr.write(String(e && e.message || e)); process.exit(1); });`;
    let text: string;
    try {
      text = execFileSync(process.execPath, ['-e', script, url], {
        encoding: 'utf8',
        timeout: timeoutMs + 2000,
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 1024 * 1024,
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`l42: fetching the JWKS from ${url} failed: ${err.stderr || err.message}`);
    }
    return new L42Jwks(parse(text, url));
  }

  /** The JWKS as compact JSON, the value of `JWKS_JSON`. */
  public readonly json: string;

  private constructor(value: unknown) {
    check(value);
    this.json = JSON.stringify(value);
  }
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new L42ValidationError(`l42: ${what} is not JSON`);
  }
}

function isKeySet(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = (v as { keys?: unknown }).keys;
  return (
    Array.isArray(keys) &&
    keys.length > 0 &&
    keys.every((k) => k && typeof k === 'object' && typeof (k as { kty?: unknown }).kty === 'string')
  );
}

function check(v: unknown): void {
  if (isKeySet(v)) return;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > 0 && entries.every(([, set]) => isKeySet(set))) return;
  }
  throw new L42ValidationError('l42: the JWKS must be {"keys":[…]} or {"<poolId>":{"keys":[…]}} with at least one key');
}
