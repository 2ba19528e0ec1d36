// The demo page's "your sessions" panel in a real browser: one user signed in from two
// browsers (two Chromium contexts, so two cookies), another user beside them, against the
// built l42-dev binary with its default token lifetime and the revocation check on with
// no recheck window (L42_DEV_REVOCATION_RECHECK_SECONDS defaults to 0).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ARTIFACTS, launchChromium, signIn, startStack, stopStack } from '../lib/stack.js';

// The user agent of the second browser: markup that would run if the page ever parsed a
// session's user agent as HTML.
const HOSTILE_AGENT = '<img src=x onerror="window.__l42_pwned=1">Mozilla/5.0 (hostile)';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  const code = await stopStack(stack);
  if (stack) assert.equal(code, 0, `the stack stops cleanly on SIGTERM:\n${stack.output.stderr}`);
});

// The panel's rows once it has drawn `count` sessions (after a reload when `reload`).
async function sessionRows(page, count, { reload = true } = {}) {
  if (reload) await page.click('#sessions-reload');
  await page.waitForSelector(`#sessions[data-sessions="${count}"]`);
  return page.$$eval('#sessions-list tr', (rows) =>
    rows.map((r) => ({
      id: r.dataset.id,
      current: r.dataset.current === 'true',
      agent: r.querySelector('.agent').textContent,
      mark: r.querySelector('.current')?.textContent ?? null,
    })),
  );
}

// From inside the page: the session's access token, as /_auth/token gives it.
function accessToken(page) {
  return page.evaluate(async () => {
    const r = await fetch('/_auth/token', { cache: 'no-store' });
    return r.ok ? (await r.json()).access_token : null;
  });
}

// From inside the page, without the cookie: GET /api/me with `token` as a Bearer token.
function bearerStatus(page, token) {
  return page.evaluate(async (t) => {
    const r = await fetch('/api/me', { credentials: 'omit', headers: { Authorization: `Bearer ${t}` }, cache: 'no-store' });
    return r.status;
  }, token);
}

// From inside the page: what the token handler says about the page's session.
function meStatus(page) {
  return page.evaluate(async () => (await fetch('/_auth/me', { cache: 'no-store' })).status);
}

describe('your sessions, in Chromium', () => {
  test('two browsers of one user see each other, end one, and log out everywhere; another user sees and ends neither', async () => {
    const first = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const second = await browser.newContext({ userAgent: HOSTILE_AGENT });
    const stranger = await browser.newContext();
    try {
      const a = await first.newPage();
      const b = await second.newPage();
      const s = await stranger.newPage();
      await signIn(a, stack.url, 'editor');
      await signIn(b, stack.url, 'editor');
      await signIn(s, stack.url, 'user');

      // Both browsers list both sessions, each marking its own, and only its own, as this
      // browser's. (Both signed in within the same second or two: their order is not asserted.)
      const seenByA = await sessionRows(a, 2);
      const seenByB = await sessionRows(b, 2);
      const ids = (rows) => rows.map((r) => r.id).sort();
      assert.deepEqual(ids(seenByA), ids(seenByB));
      const own = (rows) => rows.filter((r) => r.current);
      const others = (rows) => rows.filter((r) => !r.current);
      assert.equal(own(seenByA).length, 1);
      assert.equal(own(seenByB).length, 1);
      const idA = own(seenByA)[0].id;
      const idB = own(seenByB)[0].id;
      assert.notEqual(idA, idB);
      assert.equal(others(seenByA)[0].id, idB);
      assert.equal(others(seenByB)[0].id, idA);
      assert.equal(own(seenByA)[0].mark, ' (this browser)');
      assert.equal(others(seenByA)[0].mark, null);
      assert.match(idA, /^[A-Za-z0-9_-]{22}$/, 'an opaque handle');
      // The hostile user agent is shown as text, and nothing of it ran.
      assert.equal(others(seenByA)[0].agent, HOSTILE_AGENT);
      assert.notEqual(own(seenByA)[0].agent, HOSTILE_AGENT);
      assert.equal(await a.$$eval('#sessions-list img', (imgs) => imgs.length), 0);
      assert.equal(await a.evaluate(() => window.__l42_pwned), undefined);
      // The handle is not the cookie's session id, nor in it.
      const cookieA = (await first.cookies(stack.url)).find((c) => c.name === '__Host-l42_session');
      assert.ok(cookieA, 'the first browser has a session cookie');
      assert.ok(!cookieA.value.includes(idA), 'the handle appears nowhere in the cookie');
      await a.screenshot({ path: join(ARTIFACTS, 'demo-sessions-panel.png'), fullPage: true });

      // The other user sees only their own session, and cannot end the editor's: 404, and
      // both of the editor's sessions stay.
      const seenByStranger = await sessionRows(s, 1);
      assert.equal(seenByStranger.length, 1);
      assert.equal(seenByStranger[0].current, true);
      assert.ok(![idA, idB].includes(seenByStranger[0].id));
      const strangerDelete = await s.evaluate(async (id) => {
        const r = await fetch(`/_auth/sessions/${id}`, { method: 'DELETE', headers: { 'X-L42-CSRF': '1' } });
        return r.status;
      }, idB);
      assert.equal(strangerDelete, 404);
      assert.equal((await sessionRows(a, 2)).length, 2);

      // The second browser's Bearer token works before its session ends.
      const tokenB = await accessToken(b);
      assert.ok(tokenB, 'the second browser gets an access token');
      assert.equal(await bearerStatus(b, tokenB), 200);

      // The first browser ends the second's session from its panel.
      await a.click(`#sessions-list tr[data-id="${idB}"] button.end-session`);
      await a.waitForSelector('#sessions[data-sessions="1"]');
      assert.deepEqual((await sessionRows(a, 1, { reload: false })).map((r) => r.id), [idA]);
      // At once: its cookie is refused, and its Bearer access token too (no recheck window
      // in the local stack); the page, asked, shows it is signed out.
      assert.equal(await meStatus(b), 401);
      assert.equal(await bearerStatus(b, tokenB), 401);
      await b.evaluate(() => window.dispatchEvent(new Event('focus')));
      await b.waitForSelector('#status[data-state="out"]');
      assert.equal(await b.isHidden('#sessions'), true, 'the panel is hidden when signed out');
      // The first browser and the other user are untouched.
      assert.equal(await meStatus(a), 200);
      assert.equal(await meStatus(s), 200);

      // The second browser signs in again; then the first logs out everywhere.
      await signIn(b, stack.url, 'editor');
      const tokenB2 = await accessToken(b);
      assert.equal(await bearerStatus(b, tokenB2), 200);
      const tokenA = await accessToken(a);
      assert.equal((await sessionRows(a, 2)).length, 2);
      // The answer is read on its way to the page, which navigates away at once (to the
      // identity provider's logout and back).
      let answer;
      await a.route('**/_auth/logout', async (route) => {
        const response = await route.fetch();
        answer = { status: response.status(), body: await response.json() };
        await route.fulfill({ response });
      });
      await a.click('#logout-everywhere');
      await a.waitForFunction(() => document.getElementById('status').dataset.state === 'out');
      assert.deepEqual(answer?.status, 200);
      assert.equal(answer.body.sessions_ended, 2);
      await a.waitForURL(`${stack.url}/`);
      await a.waitForSelector('#status[data-state="out"]');

      // Both of the editor's browsers are signed out, their Bearer tokens refused; the
      // other user is still signed in.
      assert.equal(await meStatus(b), 401);
      assert.equal(await bearerStatus(b, tokenB2), 401);
      assert.equal(await bearerStatus(s, tokenA), 401);
      assert.equal(await meStatus(s), 200);
      assert.equal((await sessionRows(s, 1)).length, 1);
      const cookies = await first.cookies(stack.url);
      assert.equal(cookies.find((c) => c.name === '__Host-l42_session'), undefined, 'the first browser\'s cookie was cleared');
    } finally {
      await Promise.all([first.close(), second.close(), stranger.close()]);
    }
  });
});
