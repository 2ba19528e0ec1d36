// Starting and stopping the local stack and Chromium for the browser tests.
//
// The stack is the built `l42-dev` binary named by L42_DEV_BIN, run with no arguments
// (what `cargo run -p l42-dev` runs), configured through environment variables only.
// Chromium is Debian's, named by L42_CHROMIUM (default /usr/bin/chromium). Anything
// missing is a failure with a clear message, never a skip.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = join(ROOT, 'target', 'e2e');

// The flags the closed network here needs: no background connections of any kind.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function required(name, what) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: ${what} (scripts/test-browser sets it)`);
  return v;
}

// Starts the stack; resolves with { url, child, output } once it prints its start-up line.
export async function startStack(env = {}) {
  const bin = required('L42_DEV_BIN', 'the path of the built l42-dev binary');
  if (!existsSync(bin)) throw new Error(`L42_DEV_BIN=${bin} does not exist (build it: cargo build -p l42-dev)`);
  const child = spawn(bin, [], {
    env: { ...process.env, L42_DEV_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the test process, whatever happens to it.
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (output.stdout += d));
  child.stderr.on('data', (d) => (output.stderr += d));
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the stack printed no start-up line in 60 s:\n${output.stderr}`)), 60_000);
    const look = () => {
      const m = /^l42-dev: open (http:\/\/127\.0\.0\.1:\d+)\/ /m.exec(output.stdout);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    child.stdout.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the stack exited (${code}) before it was ready:\n${output.stderr}`));
    });
  });
  return { url, child, output };
}

// SIGTERM, then waits; resolves with the exit code.
export function stopStack(stack) {
  return new Promise((ok) => {
    if (!stack || stack.child.exitCode !== null) return ok(stack ? stack.child.exitCode : null);
    const timer = setTimeout(() => stack.child.kill('SIGKILL'), 10_000);
    stack.child.on('exit', (code) => {
      clearTimeout(timer);
      ok(code);
    });
    stack.child.kill('SIGTERM');
  });
}

export async function launchChromium() {
  const executablePath = process.env.L42_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium is missing at ${executablePath} (scripts/test-browser installs Debian's chromium)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // Playwright gives every launch a fresh temporary profile (its own --user-data-dir).
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

// Signs in through the hosted UI from the demo page; resolves once the page says so.
export async function signIn(page, url, username) {
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.click('#login');
  await page.waitForSelector('input#username');
  await page.fill('input#username', username);
  await page.fill('input#password', `${username}-password`);
  await Promise.all([page.waitForURL(`${url}/`), page.click('button[type="submit"]')]);
  await page.waitForSelector('#status[data-state="in"]');
}

// Calls every route of the demo API from the page in `mode`; returns { route: status }.
export async function callAll(page, mode) {
  await page.selectOption('#mode', mode);
  await page.click('#call-all');
  await page.waitForSelector('body[data-calls="done"]');
  const results = await page.$$eval('tr[data-route]', (rows) =>
    rows.map((r) => [r.dataset.route, Number(r.querySelector('.result').dataset.status)]),
  );
  // Ready for the next run.
  await page.evaluate(() => delete document.body.dataset.calls);
  return Object.fromEntries(results);
}
