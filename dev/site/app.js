// The l42 demo single-page app: plain JavaScript, no build step.
//
// What it uses, all on this origin:
//   GET  /_auth/me       who is signed in (from the session's verified id token)
//   GET  /_auth/token    the access token, for calls with `Authorization: Bearer`
//   POST /_auth/refresh  new tokens for the session (the page ignores the answer's tokens)
//   POST /_auth/logout   ends the session (with {"everywhere":true}: every session of the
//                        user); then the identity provider's logout URL
//   GET  /_auth/sessions the user's sessions; DELETE /_auth/sessions/{id} ends one
//   /api/*               the demo API behind the authorizer
// The session cookie is HttpOnly: this script cannot read it and never needs to. It never
// sees a refresh token; the access token lives only in a local variable for one call.
'use strict';

const CSRF = { 'X-L42-CSRF': '1' };
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('l42-demo-auth') : null;
let signedIn = false;
let refreshes = 0;

const $ = (id) => document.getElementById(id);

function log(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(li);
}

function show(el, visible) {
  el.hidden = !visible;
}

function setSignedOut(why) {
  signedIn = false;
  const status = $('status');
  status.dataset.state = 'out';
  status.textContent = why || 'Not signed in.';
  show($('who'), false);
  show($('login'), true);
  for (const id of ['token', 'refresh', 'logout']) show($(id), false);
  show($('sessions'), false);
  $('sessions-list').replaceChildren();
}

function setSignedIn(me) {
  signedIn = true;
  const status = $('status');
  status.dataset.state = 'in';
  status.textContent = `Signed in as ${me.email || me.sub}`;
  $('who-email').textContent = me.email || '(none)';
  $('who-sub').textContent = me.sub;
  $('who-groups').textContent = me.groups && me.groups.length ? me.groups.join(', ') : '(none)';
  show($('who'), true);
  show($('login'), false);
  for (const id of ['token', 'refresh', 'logout']) show($(id), true);
  show($('sessions'), true);
}

// The payload of a JWT, for display only (the servers verify; the page just shows `exp`).
function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch (e) {
    return {};
  }
}

function when(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}

// A cell with `text` as text: the user agent is whatever the signing-in browser sent, so
// nothing of a session is ever parsed as HTML.
function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// The user's sessions, newest first; `data-sessions` on the panel says when it is drawn.
async function loadSessions() {
  const panel = $('sessions');
  delete panel.dataset.sessions;
  const r = await fetch('/_auth/sessions', { cache: 'no-store' });
  if (r.status === 401) {
    await checkSession();
    return;
  }
  if (!r.ok) {
    $('sessions-status').textContent = `The sessions could not be listed (${r.status}).`;
    panel.dataset.sessions = 'error';
    return;
  }
  const { sessions } = await r.json();
  const rows = sessions.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.id = s.id;
    tr.dataset.current = String(s.current);
    const signedInCell = cell(when(s.created_at));
    if (s.current) {
      const mark = document.createElement('span');
      mark.className = 'current';
      mark.textContent = ' (this browser)';
      signedInCell.append(mark);
    }
    const end = document.createElement('button');
    end.type = 'button';
    end.className = 'end-session';
    end.textContent = s.current ? 'Log out' : 'End';
    // This browser's own session: the page's plain logout, which also signs out at the
    // identity provider.
    end.addEventListener('click', () => (s.current ? logout(false) : endSession(s.id)));
    const actions = document.createElement('td');
    actions.append(end);
    tr.append(signedInCell, cell(when(s.last_used_at)), cell(s.auth_method), cell(s.user_agent || '(unknown)', 'agent'), actions);
    return tr;
  });
  $('sessions-list').replaceChildren(...rows);
  $('sessions-status').textContent = `${sessions.length} session${sessions.length === 1 ? '' : 's'}.`;
  panel.dataset.sessions = String(sessions.length);
}

async function endSession(id) {
  const r = await fetch(`/_auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', headers: CSRF, cache: 'no-store' });
  await r.body?.cancel();
  log(r.ok ? 'another session ended' : `ending the session was refused (${r.status})`);
  await loadSessions();
}

async function checkSession() {
  let r;
  try {
    r = await fetch('/_auth/me', { cache: 'no-store' });
  } catch (e) {
    setSignedOut('The token handler cannot be reached.');
    return;
  }
  if (r.ok) {
    setSignedIn(await r.json());
    await loadSessions();
  } else if (r.status === 401) {
    if (signedIn) log('the session has ended');
    setSignedOut();
  } else {
    setSignedOut(`The session could not be checked (${r.status}).`);
  }
}

// The access token, fetched for one call; shown only as its expiry.
async function accessToken() {
  const r = await fetch('/_auth/token', { cache: 'no-store' });
  if (!r.ok) return null;
  const body = await r.json();
  const exp = claims(body.access_token).exp;
  if (exp) {
    const info = $('token-info');
    info.dataset.exp = String(exp);
    info.textContent = `expires ${new Date(exp * 1000).toLocaleTimeString()}`;
  }
  return body.access_token;
}

async function refresh() {
  const r = await fetch('/_auth/refresh', { method: 'POST', headers: CSRF, cache: 'no-store' });
  // The answer carries tokens; the page does not keep them.
  await r.body?.cancel();
  if (r.ok) log('session refreshed through /_auth/refresh');
  else log(`refresh refused (${r.status})`);
  return r.ok;
}

async function send(route, mode) {
  const [method, path] = route.split(' ');
  const headers = {};
  const init = { method, headers, cache: 'no-store' };
  if (mode === 'bearer') {
    const token = await accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
  } else {
    // Only the session cookie identifies the caller. A POST needs a CSRF proof then:
    // here the browser's own `Origin` header (the stack's origin is allow-listed); a page
    // may send `X-L42-CSRF: 1` instead.
    init.credentials = 'same-origin';
  }
  if (method === 'POST') {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify({ item: 'demo order', quantity: 1 });
  }
  const r = await fetch(`/api${path}`, init);
  const text = await r.text();
  return { status: r.status, text };
}

// One call: a 401 while signed in means an expired access token, so refresh once and retry.
async function callRoute(row) {
  const route = row.dataset.route;
  const mode = $('mode').value;
  let answer = await send(route, mode);
  if (answer.status === 401 && signedIn) {
    log(`${route}: 401, refreshing the session`);
    if (await refresh()) {
      refreshes += 1;
      $('refreshes').textContent = String(refreshes);
      answer = await send(route, mode);
    } else {
      await checkSession();
    }
  }
  const cell = row.querySelector('.result');
  cell.dataset.status = String(answer.status);
  const verdict = answer.status === 200 ? 'allowed' : answer.status === 403 ? 'denied' : answer.status === 401 ? 'not signed in' : 'error';
  cell.textContent = `${answer.status} ${verdict}`;
  $('last-response').textContent = `${route} → ${answer.status}\n${pretty(answer.text)}`;
  log(`${route} (${mode}) → ${answer.status}`);
  return answer.status;
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch (e) {
    return text;
  }
}

async function callAll() {
  const button = $('call-all');
  button.disabled = true;
  document.body.dataset.calls = 'running';
  try {
    for (const row of document.querySelectorAll('tr[data-route]')) {
      await callRoute(row);
    }
  } finally {
    button.disabled = false;
    document.body.dataset.calls = 'done';
  }
}

async function logout(everywhere) {
  const init = { method: 'POST', headers: { ...CSRF }, cache: 'no-store' };
  if (everywhere) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify({ everywhere: true });
  }
  const r = await fetch('/_auth/logout', init);
  const body = r.ok ? await r.json() : {};
  if (!r.ok) log(`logout refused (${r.status}); the session may still be live`);
  if (channel) channel.postMessage('logout');
  setSignedOut();
  log(everywhere ? `logged out everywhere (${body.sessions_ended} sessions ended)` : 'logged out');
  // The identity provider's logout, which comes back to this page.
  if (body.logout_url) window.location.assign(body.logout_url);
}

function init() {
  $('call-all').addEventListener('click', callAll);
  for (const b of document.querySelectorAll('button.call')) {
    b.addEventListener('click', () => callRoute(b.closest('tr')));
  }
  $('token').addEventListener('click', async () => {
    const t = await accessToken();
    log(t ? 'access token fetched from /_auth/token' : 'no access token (not signed in)');
    if (!t) await checkSession();
  });
  $('refresh').addEventListener('click', async () => {
    if (await refresh()) await accessToken();
    else await checkSession();
  });
  $('logout').addEventListener('click', () => logout(false));
  $('logout-everywhere').addEventListener('click', () => logout(true));
  $('sessions-reload').addEventListener('click', loadSessions);
  // Another tab logged out: check with the server rather than trust the message.
  if (channel) channel.onmessage = () => checkSession();
  window.addEventListener('focus', checkSession);
  const error = new URLSearchParams(window.location.search).get('error');
  if (error) log(`login failed: ${error}`);
  checkSession().then(() => {
    document.body.dataset.ready = 'true';
  });
}

init();
