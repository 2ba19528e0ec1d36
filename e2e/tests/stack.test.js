// The local stack in a real browser: headless Debian Chromium driven through the DevTools
// protocol (playwright-core), against the built l42-dev binary started with no arguments.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ARTIFACTS, callAll, launchChromium, signIn, startStack, stopStack } from '../lib/stack.js';

// Short token lifetimes, so that the refresh test sees an access token expire.
const TOKEN_SECONDS = 4;

const ROUTES = [
  'GET /me',
  'GET /orders',
  'POST /orders',
  'DELETE /orders/1001',
  'GET /admin/stats',
  'GET /tenants/acme/orders',
  'GET /tenants/globex/orders',
  'POST /sync',
];
// What the demo policies (dev/policies/demo.cedar) allow, per default user: admin and
// editor are of tenant acme, user of globex; POST /sync is for machine clients only.
const EXPECTED = {
  admin: { groups: 'admin', allowed: ROUTES.filter((r) => r !== 'POST /sync') },
  editor: { groups: 'editor', allowed: ['GET /me', 'GET /orders', 'POST /orders', 'GET /tenants/acme/orders'] },
  user: { groups: '(none)', allowed: ['GET /me', 'GET /orders', 'GET /tenants/globex/orders'] },
};

function expectedStatuses(username) {
  const allowed = EXPECTED[username].allowed;
  return Object.fromEntries(ROUTES.map((r) => [r, allowed.includes(r) ? 200 : 403]));
}

let stack;
let browser;

before(async () => {
  stack = await startStack({ L42_DEV_TOKEN_SECONDS: String(TOKEN_SECONDS) });
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  const code = await stopStack(stack);
  if (stack) {
    assert.equal(code, 0, `the stack stops cleanly on SIGTERM:\n${stack.output.stderr}`);
    assert.match(stack.output.stderr, /l42-dev: stopped/);
  }
});

describe('the local stack in Chromium', () => {
  test('the start-up line names the page and the users', () => {
    const line = stack.output.stdout.trim().split('\n')[0];
    assert.match(line, /^l42-dev: open http:\/\/127\.0\.0\.1:\d+\/ and log in as admin\/admin-password, editor\/editor-password, user\/user-password \(Ctrl-C stops\)$/);
  });

  test('signed out: the API answers 401 and the protected page sends to the sign-in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/`);
    await page.waitForSelector('#status[data-state="out"]');
    assert.deepEqual(await callAll(page, 'cookie'), Object.fromEntries(ROUTES.map((r) => [r, 401])));
    // The edge gate: /private/ without a session goes to /_auth/login, hence the hosted UI.
    await page.goto(`${stack.url}/private/`);
    await page.waitForSelector('input#username');
    assert.doesNotMatch(page.url(), /^http:\/\/127\.0\.0\.1:\d+\/private/);
    await page.fill('input#username', 'user');
    await page.fill('input#password', 'user-password');
    await Promise.all([page.waitForURL(`${stack.url}/private/`), page.click('button[type="submit"]')]);
    assert.equal(await page.textContent('#private-title'), 'Protected page');
    await context.close();
  });

  for (const username of Object.keys(EXPECTED)) {
    test(`${username}: who is signed in, allowed and denied calls, with the cookie and with a Bearer token`, async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await signIn(page, stack.url, username);
      assert.equal(await page.textContent('#who-email'), `${username}@example.com`);
      assert.equal(await page.textContent('#who-groups'), EXPECTED[username].groups);

      for (const mode of ['cookie', 'bearer']) {
        assert.deepEqual(await callAll(page, mode), expectedStatuses(username), `${username}, ${mode}`);
      }
      // The demo backend saw who called, from the authorizer context.
      await page.click('tr[data-route="GET /me"] button.call');
      await page.waitForFunction(() => document.getElementById('last-response').textContent.startsWith('GET /me → 200'));
      const last = await page.textContent('#last-response');
      assert.match(last, new RegExp(`"username": "${username}"`));

      // The session cookie is HttpOnly and Secure: present in the browser, invisible to scripts.
      const cookies = await context.cookies(stack.url);
      const session = cookies.find((c) => c.name === '__Host-l42_session');
      assert.ok(session, `the session cookie is set: ${JSON.stringify(cookies.map((c) => c.name))}`);
      assert.equal(session.httpOnly, true);
      assert.equal(session.secure, true);
      assert.equal(session.path, '/');
      const visible = await page.evaluate(() => document.cookie);
      assert.doesNotMatch(visible, /l42_session/);
      // Nor did any script-visible storage get a refresh token.
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      assert.doesNotMatch(stored, /refresh/i);

      // For a reviewer: the page after login, with this user's allowed and denied calls.
      await page.screenshot({ path: join(ARTIFACTS, `demo-after-login-${username}.png`), fullPage: true });
      await context.close();
    });
  }

  test('an expired access token is refreshed and the call goes through', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, stack.url, 'editor');
    // The access token the session holds now expires within TOKEN_SECONDS; wait past it
    // without any call that would refresh it.
    await page.waitForTimeout((TOKEN_SECONDS + 2) * 1000);
    assert.equal(await page.textContent('#refreshes'), '0');
    assert.deepEqual(await callAll(page, 'cookie'), expectedStatuses('editor'));
    const refreshes = Number(await page.textContent('#refreshes'));
    assert.ok(refreshes >= 1, `the page refreshed after a 401 (${refreshes})`);
    const log = await page.textContent('#log');
    assert.match(log, /GET \/me: 401, refreshing the session/);
    assert.match(log, /session refreshed through \/_auth\/refresh/);
    // The explicit refresh button too, then the new token's expiry is in the future.
    await page.click('#refresh');
    await page.waitForFunction(() => document.getElementById('token-info').dataset.exp);
    const exp = Number(await page.getAttribute('#token-info', 'data-exp'));
    assert.ok(exp * 1000 > Date.now() - 1000, `a fresh access token (exp ${exp})`);
    await context.close();
  });

  test('logging out in one tab ends the session in the other', async () => {
    const context = await browser.newContext();
    const first = await context.newPage();
    await signIn(first, stack.url, 'admin');
    const second = await context.newPage();
    await second.goto(`${stack.url}/`);
    await second.waitForSelector('#status[data-state="in"]');
    assert.deepEqual(await callAll(second, 'cookie'), expectedStatuses('admin'));

    await first.bringToFront();
    await Promise.all([first.waitForURL(`${stack.url}/`), first.click('#logout')]);
    await first.waitForSelector('#status[data-state="out"]');

    // The other tab: its calls are refused by the server, and it shows it is signed out.
    assert.deepEqual(await callAll(second, 'cookie'), Object.fromEntries(ROUTES.map((r) => [r, 401])));
    await second.waitForSelector('#status[data-state="out"]');
    assert.deepEqual(await callAll(second, 'bearer'), Object.fromEntries(ROUTES.map((r) => [r, 401])));
    const cookies = await context.cookies(stack.url);
    assert.equal(cookies.find((c) => c.name === '__Host-l42_session'), undefined, 'the cookie was cleared');
    await context.close();
  });
});
