// The case table, run as it is under njs and under Node (see run-cases.js).
// A case: {name, fn (file under functions/, without .js), event, want (the object the
// function must return), and optionally kvs ({entries, mode, failing}, see
// harness.cloudfront), now (unix seconds that Date.now() returns), reads (the store keys
// the function must read, in order), patch ([[text, replacement]] applied to the source
// first, as the deploy step would set the constants)}.

const HOST = 'app.example.com';

function build(V, h) {
  const cases = [];
  const S = V.secrets;
  const NAME = V.cookie_name;
  function vector(name) {
    for (let i = 0; i < V.cases.length; i++) if (V.cases[i].name === name) return V.cases[i];
    throw new Error('no cookie vector ' + name);
  }
  function value(name) {
    const header = vector(name).cookie_header;
    return header.slice(header.indexOf('=') + 1);
  }
  function add(c) {
    cases.push(c);
  }

  // ---- session-gate ---------------------------------------------------------------
  const KEYS = { session_secret: S.current, session_secret_previous: S.previous };
  function gate(o) {
    return h.viewerRequest({
      uri: o.uri || '/app/index.html',
      query: o.query,
      cookie: o.cookie,
      headers: [['Host', HOST]],
    });
  }
  function pass(e) {
    return h.clone(e.request);
  }
  function found(location) {
    return {
      statusCode: 302,
      statusDescription: 'Found',
      headers: { location: { value: location }, 'cache-control': { value: 'no-store' } },
    };
  }
  const LOGIN = '/_auth/login?return_to=%2Fapp%2Findex.html';
  function gateCase(name, o) {
    const e = gate(o);
    add({
      name: 'session-gate: ' + name,
      fn: 'session-gate',
      event: e,
      kvs: o.kvs || { entries: KEYS },
      now: o.now === undefined ? V.now : o.now,
      want: o.want === 'pass' ? pass(e) : found(o.want || LOGIN),
      reads: o.reads,
    });
  }

  // Every cookie vector, at the vectors' `now`, under the current and previous secret.
  for (let i = 0; i < V.cases.length; i++) {
    const v = V.cases[i];
    gateCase('vector ' + v.name + (v.valid ? ' (valid)' : ' (invalid)'), {
      cookie: v.cookie_header,
      want: v.valid ? 'pass' : undefined,
    });
  }

  const GOOD = NAME + '=' + value('valid_current_key');
  const PREV = NAME + '=' + value('valid_previous_key');

  // Which keys are read, and when.
  gateCase('current key verifies: the previous secret is not read', {
    cookie: GOOD,
    want: 'pass',
    reads: ['gate_config', 'session_secret'],
  });
  gateCase('previous key verifies after the current one failed', {
    cookie: PREV,
    want: 'pass',
    reads: ['gate_config', 'session_secret', 'session_secret_previous'],
  });
  gateCase('no cookie: no secret is read', { cookie: '', reads: ['gate_config'] });
  gateCase('only malformed or expired values: no secret is read', {
    cookie: vector('expired').cookie_header + '; ' + NAME + '=v1.x.1.y',
    reads: ['gate_config'],
  });
  gateCase('secrets swapped in the store: both still accepted', {
    cookie: GOOD,
    kvs: { entries: { session_secret: S.previous, session_secret_previous: S.current } },
    want: 'pass',
    reads: ['gate_config', 'session_secret', 'session_secret_previous'],
  });
  gateCase('the store decides the key: a cookie signed with another secret passes when that is current', {
    cookie: vector('wrong_key').cookie_header,
    kvs: { entries: { session_secret: S.other } },
    want: 'pass',
  });

  // Failing closed.
  gateCase('no previous secret in the store: a previous-key cookie is refused', {
    cookie: PREV,
    kvs: { entries: { session_secret: S.current } },
  });
  gateCase('no previous secret in the store: a current-key cookie passes', {
    cookie: GOOD,
    kvs: { entries: { session_secret: S.current } },
    want: 'pass',
  });
  gateCase('no current secret: refused even when the previous secret would verify', {
    cookie: GOOD,
    kvs: { entries: { session_secret_previous: S.current } },
    reads: ['gate_config', 'session_secret'],
  });
  gateCase('current secret shorter than 32 bytes: refused', {
    cookie: NAME + '=' + value('valid_current_key'),
    kvs: { entries: { session_secret: S.current.slice(0, 31), session_secret_previous: S.previous } },
  });
  gateCase('store get throws: refused', { cookie: GOOD, kvs: { entries: KEYS, mode: 'throws' } });
  gateCase('store get rejects: refused', { cookie: GOOD, kvs: { entries: KEYS, mode: 'rejects' } });
  gateCase('no store associated (cf.kvs() throws): refused', {
    cookie: GOOD,
    kvs: { entries: KEYS, mode: 'no-store' },
    reads: [],
  });
  gateCase('empty store: refused', { cookie: GOOD, kvs: { entries: {} } });
  gateCase('reading the current secret fails: refused', {
    cookie: GOOD,
    kvs: { entries: KEYS, failing: ['session_secret'] },
  });
  gateCase('reading the previous secret fails: a current-key cookie passes', {
    cookie: GOOD,
    kvs: { entries: KEYS, failing: ['session_secret_previous'] },
    want: 'pass',
  });
  gateCase('reading the previous secret fails: a previous-key cookie is refused', {
    cookie: PREV,
    kvs: { entries: KEYS, failing: ['session_secret_previous'] },
  });
  gateCase('Date.now() is what decides expiry: a valid cookie an hour later is refused', {
    cookie: GOOD,
    now: vector('valid_current_key').expires,
  });

  // Several values of the cookie.
  const junk = [];
  for (let i = 0; i < 8; i++) junk.push(NAME + '=' + value('wrong_key'));
  gateCase('a good value after 7 bad ones passes', {
    cookie: junk.slice(0, 7).join('; ') + '; ' + GOOD,
    want: 'pass',
  });
  gateCase('only the first 8 values are looked at', { cookie: junk.join('; ') + '; ' + GOOD });
  gateCase('a good value among other names', {
    cookie: 'a=1; l42_session=' + value('wrong_key') + '; ' + GOOD + '; z=2',
    want: 'pass',
  });

  // gate_config from the store.
  function withConfig(conf, extra) {
    const entries = { session_secret: S.current, session_secret_previous: S.previous };
    if (conf !== undefined) entries.gate_config = typeof conf === 'string' ? conf : JSON.stringify(conf);
    return { entries: entries, mode: extra && extra.mode, failing: extra && extra.failing };
  }
  const APP = withConfig({ protect: ['/app/', '/admin'], public: ['/app/assets/', '/app/robots.txt'] });
  gateCase('config: a path outside `protect` passes without a cookie, no secret read', {
    uri: '/index.html',
    kvs: APP,
    want: 'pass',
    reads: ['gate_config'],
  });
  gateCase('config: under a protected prefix, no cookie: refused', { uri: '/app/index.html', kvs: APP });
  gateCase('config: under a protected prefix, good cookie: passes', {
    uri: '/app/index.html',
    cookie: GOOD,
    kvs: APP,
    want: 'pass',
  });
  gateCase('config: a prefix without a trailing slash covers itself', {
    uri: '/admin',
    kvs: APP,
    want: '/_auth/login?return_to=%2Fadmin',
  });
  gateCase('config: and what is below it', {
    uri: '/admin/users',
    kvs: APP,
    want: '/_auth/login?return_to=%2Fadmin%2Fusers',
  });
  gateCase('config: but not a longer name', { uri: '/administrator', kvs: APP, want: 'pass' });
  gateCase('config: percent-encoded letters do not get around a prefix', {
    uri: '/%61pp/index.html',
    kvs: APP,
    want: '/_auth/login?return_to=%2F%2561pp%2Findex.html',
  });
  gateCase('config: a public prefix passes without a cookie', {
    uri: '/app/assets/app.js',
    kvs: APP,
    want: 'pass',
  });
  gateCase('config: a public exact path passes', { uri: '/app/robots.txt', kvs: APP, want: 'pass' });
  gateCase('config: a public exact path does not cover longer names', {
    uri: '/app/robots.txt.bak',
    kvs: APP,
    want: '/_auth/login?return_to=%2Fapp%2Frobots.txt.bak',
  });
  gateCase('config: dot segments out of a public prefix are gated', {
    uri: '/app/assets/../secret.html',
    kvs: APP,
    want: '/_auth/login?return_to=%2Fapp%2Fassets%2F..%2Fsecret.html',
  });
  gateCase('config: encoded dot segments out of a public prefix are gated', {
    uri: '/app/assets/%2e%2e/secret.html',
    kvs: APP,
    want: '/_auth/login?return_to=%2Fapp%2Fassets%2F%252e%252e%2Fsecret.html',
  });
  gateCase('config: an undecodable path is gated', {
    uri: '/app/assets/%E0%A4%A',
    kvs: APP,
    want: '/_auth/login?return_to=%2Fapp%2Fassets%2F%25E0%25A4%25A',
  });
  // Another spelling of a protected path, with `protect` narrowed: origins that merge
  // slashes, decode `%2F`, ignore case or strip `;` parameters, trailing dots or spaces
  // would serve the protected file, so each is gated without a cookie (they all went
  // through before) and passes with a good one.
  const NARROW = withConfig({ protect: ['/private/'], public: ['/private/assets/'] });
  const SPELLINGS = [
    '//private/x',
    '///private/x',
    '/%2fprivate/x',
    '/%2Fprivate/x',
    '/%2F%2Fprivate/x',
    '/Private/x',
    '/PRIVATE/x',
    '/pRiVaTe/x',
    '/%50rivate/x',
    '/private//x',
    '/%252fprivate/x',
    '/%25%32%66private/x',
    '/private;jsessionid=1/x',
    '/x;/../private/x',
    '/private./x',
    '/private%2e/x',
    '/private%20/x',
    '/./private/x',
    '/%2e/private/x',
    '/x/..%2fprivate/x',
    '/private\\x',
    '/%5cprivate/x',
    '/%00/private/x',
    '/private%09/x',
    '//private/assets/../x',
    '/private/assets/%2e%2e/x',
    '/private/ASSETS/x',
    '/private//assets/x',
    '/private/assets;/../x',
  ];
  // Each spelling gated without a cookie (with the exact return_to) and passing with one.
  function spellingCases(label, kvs, list) {
    for (let i = 0; i < list.length; i++) {
      const uri = list[i];
      // `return_to` never starts `//` nor holds `\\` (no redirect off the site): then `/`.
      const back = uri.indexOf('//') === 0 || uri.indexOf('\\') >= 0 ? '/' : uri;
      gateCase(label + ', another spelling ' + uri + ': gated', {
        uri: uri,
        kvs: kvs,
        want: '/_auth/login?return_to=' + encodeURIComponent(back),
      });
      gateCase(label + ', another spelling ' + uri + ': a good cookie passes', {
        uri: uri,
        cookie: GOOD,
        kvs: kvs,
        want: 'pass',
      });
    }
  }
  spellingCases('protect narrowed', NARROW, SPELLINGS);
  // What stays open: paths outside the narrowed prefix, the public prefix as spelled.
  const OPEN = ['/', '/index.html', '/privates/x', '/public/private/x', '/private', '/private/assets/app.js', '/100%25.html'];
  for (let i = 0; i < OPEN.length; i++) {
    gateCase('protect narrowed, ' + OPEN[i] + ' passes without a cookie', {
      uri: OPEN[i],
      kvs: NARROW,
      want: 'pass',
      reads: ['gate_config'],
    });
  }
  // Spellings that only some origins read as the protected path: Unicode that a
  // case-insensitive origin folds to ASCII (dotless i: Java's equalsIgnoreCase, .NET's
  // invariant upper case) or a best-fit mapping turns into ASCII (fullwidth p: IIS), and
  // IIS's %u escape left after one decoding. All went through before.
  spellingCases('protect narrowed', NARROW, ['/pr%C4%B1vate/x', '/%EF%BD%90rivate/x', '/%25u0070rivate/x']);
  // An exact prefix (a file): what a server may cut off its name. A `?` or `#` decoded
  // from %3F/%23 (a proxy that passes the decoded path on, as nginx with `$uri`, sends
  // them as the start of a query or fragment), an NTFS stream name, NUL, trailing dot or
  // space, `;` parameters, and the spellings above. `?`, `#` and the stream name went
  // through before; the rest were already gated and are kept as regressions.
  const FILE = withConfig({ protect: ['/admin'] });
  spellingCases('protect an exact path', FILE, [
    '/admin%3fx',
    '/admin%3F',
    '/admin%23x',
    '/admin::$DATA',
    '/admin%3a%3a$DATA',
    '/admin%00.html',
    '/admin.',
    '/admin%20',
    '/admin;x',
    '/ADMIN',
    '//admin',
    '/%2fadmin',
  ]);
  const FILE_OPEN = ['/administrator', '/admin-old', '/index.html'];
  for (let i = 0; i < FILE_OPEN.length; i++) {
    gateCase('protect an exact path, ' + FILE_OPEN[i] + ' passes without a cookie', {
      uri: FILE_OPEN[i],
      kvs: FILE,
      want: 'pass',
      reads: ['gate_config'],
    });
  }
  // The price of gating what is ambiguous: a path outside `protect` with non-ASCII text,
  // a `:` or a decoded `?` needs a session too.
  const COSTS = ['/caf%C3%A9.html', '/%F0%9F%98%80.html', '/a:b.html', '/what%3F.html'];
  for (let i = 0; i < COSTS.length; i++) {
    gateCase('protect narrowed, ' + COSTS[i] + ' (ambiguous, outside protect) is gated', {
      uri: COSTS[i],
      kvs: NARROW,
      want: '/_auth/login?return_to=' + encodeURIComponent(COSTS[i]),
    });
  }
  // Prefixes are read the way paths are: decoded once (SAFE_PATH makes a prefix with a
  // space or non-ASCII text be written encoded), then for `protect` slashes merged and
  // case ignored. Before, an encoded prefix covered nothing, and after slashes were
  // merged in paths, a prefix with `//` covered nothing either.
  spellingCases('protect written encoded', withConfig({ protect: ['/my%20docs/'] }), [
    '/my%20docs/x',
    '/My%20Docs/x',
    '/my%20docs//x',
  ]);
  spellingCases('protect with %-escaped letters', withConfig({ protect: ['/%70rivate/'] }), ['/private/x', '/Private/x']);
  spellingCases('protect with //', withConfig({ protect: ['/team//plans/'] }), ['/team//plans/x', '/team/plans/x']);
  spellingCases('protect in capitals', withConfig({ protect: ['/Reports/'] }), ['/Reports/q1', '/reports/q1']);
  gateCase('protect written encoded, a path outside it passes', {
    uri: '/my%20docs.html',
    kvs: withConfig({ protect: ['/my%20docs/'] }),
    want: 'pass',
  });
  gateCase('public written encoded covers what is under it, as decoded', {
    uri: '/my%20assets/app.js',
    kvs: withConfig({ public: ['/my%20assets/'] }),
    want: 'pass',
  });
  // A prefix or login path that does not decode or is itself ambiguous is malformed:
  // the defaults (everything gated, the default login).
  const AMBIGUOUS_CONFIGS = [
    ['protect', { protect: ['/x;y/'] }],
    ['protect', { protect: ['/private/', '/%zz/'] }],
    ['protect', { protect: ['/docs./'] }],
  ];
  for (let i = 0; i < AMBIGUOUS_CONFIGS.length; i++) {
    gateCase('config: ambiguous `' + AMBIGUOUS_CONFIGS[i][0] + '` ' + JSON.stringify(AMBIGUOUS_CONFIGS[i][1]) + ': default, everything gated', {
      uri: '/index.html',
      kvs: withConfig(AMBIGUOUS_CONFIGS[i][1]),
      want: '/_auth/login?return_to=%2Findex.html',
    });
  }
  gateCase('config: an undecodable `public` entry: none public (its default)', {
    uri: '/private/assets/app.js',
    kvs: withConfig({ protect: ['/private/'], public: ['/private/assets/', '/%C0%AF/'] }),
    want: '/_auth/login?return_to=' + encodeURIComponent('/private/assets/app.js'),
  });
  gateCase('config: an ambiguous login path (/signin;x) is not used: default login, and it is gated', {
    uri: '/signin;x',
    kvs: withConfig({ login: '/signin;x' }),
    want: '/_auth/login?return_to=' + encodeURIComponent('/signin;x'),
  });
  gateCase('the login path itself is never gated', { uri: '/_auth/login', want: 'pass', reads: ['gate_config'] });
  // `return_to` as the token handler keeps it: at most 512 bytes, else `/`; a query that
  // would take it over is left out.
  const LONG = '/app/' + new Array(508).join('a');
  gateCase('a path of 512 bytes is returned to', {
    uri: LONG,
    want: '/_auth/login?return_to=' + encodeURIComponent(LONG),
  });
  gateCase('a longer path returns to /', { uri: LONG + 'a', want: '/_auth/login?return_to=%2F' });
  gateCase('a query that would make it longer is left out', {
    uri: LONG.slice(0, 500),
    query: 'q=xxxxxxxxxxxxxxxxxxxx',
    want: '/_auth/login?return_to=' + encodeURIComponent(LONG.slice(0, 500)),
  });
  gateCase('another spelling of the login path is no login path', {
    uri: '/_AUTH/login',
    want: '/_auth/login?return_to=%2F_AUTH%2Flogin',
  });
  gateCase('config: another login path', {
    uri: '/app/x',
    kvs: withConfig({ login: '/signin' }),
    want: '/signin?return_to=%2Fapp%2Fx',
  });
  gateCase('config: another login path is itself not gated', {
    uri: '/signin',
    kvs: withConfig({ login: '/signin' }),
    want: 'pass',
  });
  const BAD_LOGINS = ['//evil.example/login', 'https://evil.example/login', '/login?x=1', '\\evil', 'login', 42];
  for (let i = 0; i < BAD_LOGINS.length; i++) {
    gateCase('config: login ' + JSON.stringify(BAD_LOGINS[i]) + ' is not a safe path: default used', {
      kvs: withConfig({ login: BAD_LOGINS[i] }),
    });
  }
  gateCase('config: another cookie name', {
    cookie: 'l42_session=' + value('valid_current_key'),
    kvs: withConfig({ cookie: 'l42_session' }),
    want: 'pass',
  });
  gateCase('config: another cookie name, the default name no longer counts', {
    cookie: GOOD,
    kvs: withConfig({ cookie: 'l42_session' }),
  });
  gateCase('config: a cookie name that is not a token: default used', {
    cookie: GOOD,
    kvs: withConfig({ cookie: 'a b' }),
    want: 'pass',
  });
  const BAD_CONFIGS = [
    ['`protect` empty', { protect: [] }],
    ['`protect` not a list', { protect: '/app/' }],
    ['`protect` with a relative entry', { protect: ['/app/', 'docs/'] }],
    ['`public` not a list', { protect: ['/'], public: '/' }],
    ['`public` with a non-string entry', { public: ['/x/', 7] }],
    ['not JSON', '{"protect": ["/app/"'],
    ['a JSON array', '["/app/"]'],
    ['a JSON string', '"/app/"'],
    ['JSON null', 'null'],
  ];
  for (let i = 0; i < BAD_CONFIGS.length; i++) {
    gateCase('config ' + BAD_CONFIGS[i][0] + ': default, everything gated', {
      uri: '/index.html',
      kvs: withConfig(BAD_CONFIGS[i][1]),
      want: '/_auth/login?return_to=%2Findex.html',
    });
  }
  gateCase('config unreadable (its get rejects): default, everything gated', {
    uri: '/index.html',
    kvs: withConfig({ protect: ['/app/'] }, { failing: ['gate_config'] }),
    want: '/_auth/login?return_to=%2Findex.html',
  });

  // return_to: a path from this site only, encoded; the query string comes along.
  gateCase('return_to keeps the query string, names sorted, repeated values in order', {
    uri: '/app/',
    query: 'tab=2&x=a%20b&x=c&flag',
    want: '/_auth/login?return_to=' + encodeURIComponent('/app/?flag=&tab=2&x=a%20b&x=c'),
  });
  const many = [];
  for (let i = 11; i >= 0; i--) many.push('p' + (i < 10 ? '0' : '') + i + '=' + i);
  gateCase('return_to: twelve parameters come out in the same order in every engine', {
    uri: '/app/',
    query: many.join('&'),
    want: '/_auth/login?return_to=' + encodeURIComponent('/app/?' + many.slice().reverse().join('&')),
  });
  gateCase('return_to encodes query text that is not URL-safe', {
    uri: '/app/',
    query: 'q=a b&r=<x>',
    want: '/_auth/login?return_to=' + encodeURIComponent('/app/?q=a%20b&r=%3Cx%3E'),
  });
  gateCase('return_to: a path starting with // becomes /', {
    uri: '//evil.example/x',
    want: '/_auth/login?return_to=%2F',
  });
  gateCase('return_to: a path starting with /\\ becomes /', {
    uri: '/\\evil.example/x',
    want: '/_auth/login?return_to=%2F',
  });
  gateCase('return_to: a path with non-ASCII text becomes /', {
    uri: '/app/caf\u00e9',
    want: '/_auth/login?return_to=%2F',
  });
  let long = '/app/';
  while (long.length < 2100) long += 'abcdefghij';
  gateCase('return_to: a very long path becomes /', { uri: long, want: '/_auth/login?return_to=%2F' });
  let longQuery = 'q=';
  while (longQuery.length < 2100) longQuery += 'abcdefghij';
  gateCase('return_to: a very long query string is left out', {
    uri: '/app/x',
    query: longQuery,
    want: '/_auth/login?return_to=%2Fapp%2Fx',
  });

  // ---- auth-router ----------------------------------------------------------------
  function routerCase(name, o) {
    const e = h.viewerRequest({
      method: o.method,
      uri: o.uri,
      query: o.query,
      headers: o.headers,
      cookie: o.cookie,
      rawHeaderNames: o.rawHeaderNames,
    });
    let want;
    if (o.want === 404) {
      want = {
        statusCode: 404,
        statusDescription: 'Not Found',
        headers: { 'content-type': { value: 'application/json' }, 'cache-control': { value: 'no-store' } },
        body: { encoding: 'text', data: '{"error":"Not found"}' },
      };
    } else {
      want = h.clone(e.request);
      want.headers = o.wantHeaders;
      if (o.wantUri !== undefined) want.uri = o.wantUri;
    }
    add({ name: 'auth-router: ' + name, fn: 'auth-router', event: e, want: want, patch: o.patch });
  }
  routerCase('host copied into x-forwarded-host; path, query and cookies unchanged', {
    uri: '/_auth/login',
    query: 'return_to=%2Fapp%2F&x=1&x=2',
    cookie: NAME + '=abc; theme=dark',
    headers: [['Host', HOST], ['Accept', 'text/html']],
    wantHeaders: { host: { value: HOST }, accept: { value: 'text/html' }, 'x-forwarded-host': { value: HOST } },
  });
  routerCase('a spoofed X-Forwarded-Host is replaced', {
    uri: '/_auth/token',
    headers: [['Host', HOST], ['X-Forwarded-Host', 'evil.example']],
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  routerCase('several spoofed x-forwarded-host values are all replaced', {
    uri: '/_auth/token',
    headers: [['host', HOST], ['x-forwarded-host', 'evil.example'], ['X-FORWARDED-HOST', 'evil2.example']],
    wantHeaders: {
      host: { value: HOST },
      'x-forwarded-host': { value: HOST, multiValue: [{ value: HOST }] },
    },
  });
  routerCase('spoofable forwarding headers are dropped, the others kept', {
    method: 'POST',
    uri: '/_auth/session',
    headers: [
      ['Host', HOST],
      ['Forwarded', 'for=203.0.113.9;host=evil.example;proto=http'],
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-For', '203.0.113.10'],
      ['X-Forwarded-Port', '80'],
      ['X-Forwarded-Prefix', '/evil'],
      ['X-Forwarded-Server', 'evil'],
      ['X-Forwarded-Scheme', 'http'],
      ['X-Forwarded-Ssl', 'off'],
      ['X-Original-URL', '/admin'],
      ['X-Original-URI', '/admin'],
      ['X-Original-Host', 'evil.example'],
      ['X-Rewrite-URL', '/admin'],
      ['X-Host', 'evil.example'],
      ['X-HTTP-Method-Override', 'DELETE'],
      ['X-HTTP-Method', 'DELETE'],
      ['X-Method-Override', 'DELETE'],
      ['X-Client-IP', '203.0.113.9'],
      ['True-Client-IP', '203.0.113.9'],
      ['Client-IP', '203.0.113.9'],
      ['X-Cluster-Client-IP', '203.0.113.9'],
      ['Content-Type', 'application/json'],
      ['Origin', 'https://' + HOST],
      ['X-L42-CSRF', '1'],
      ['Authorization', 'Bearer abc'],
    ],
    wantHeaders: {
      host: { value: HOST },
      'content-type': { value: 'application/json' },
      origin: { value: 'https://' + HOST },
      'x-l42-csrf': { value: '1' },
      authorization: { value: 'Bearer abc' },
      'x-forwarded-host': { value: HOST },
    },
  });
  routerCase('header names in other case (a hand-made event) are dropped too', {
    uri: '/_auth/me',
    rawHeaderNames: true,
    headers: [['host', HOST], ['X-Forwarded-Host', 'evil.example'], ['Forwarded', 'host=evil'], ['Accept', '*/*']],
    wantHeaders: { host: { value: HOST }, Accept: { value: '*/*' }, 'x-forwarded-host': { value: HOST } },
  });
  routerCase('no host header: a spoofed x-forwarded-host is still dropped', {
    uri: '/_auth/me',
    headers: [['X-Forwarded-Host', 'evil.example']],
    wantHeaders: {},
  });
  routerCase('the prefix itself goes on', {
    uri: '/_auth',
    headers: [['Host', HOST]],
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  const NOT_AUTH = [
    '/',
    '/index.html',
    '/_authx',
    '/_authlogin',
    '/auth/login',
    '/_AUTH/login',
    '/_auth/../health',
    '/_auth/./login',
    '/_auth/%2e%2e/health',
    '/_auth/%2E./health',
    '/_auth/..',
    '/_auth/a%2Fb',
    '/_auth\\..\\health',
    '/_auth/a%5cb',
    '/_auth/a%00',
  ];
  for (let i = 0; i < NOT_AUTH.length; i++) {
    routerCase(JSON.stringify(NOT_AUTH[i]) + ' is answered 404 at the edge', {
      uri: NOT_AUTH[i],
      headers: [['Host', HOST]],
      want: 404,
    });
  }
  routerCase('a dot inside a name is fine', {
    uri: '/_auth/.well-known/x..y',
    headers: [['Host', HOST]],
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  const STRIP = [["const ORIGIN_PREFIX = '/_auth';", "const ORIGIN_PREFIX = '';"]];
  routerCase('ORIGIN_PREFIX empty: the prefix is stripped', {
    uri: '/_auth/callback',
    query: 'code=abc&state=xyz',
    headers: [['Host', HOST]],
    patch: STRIP,
    wantUri: '/callback',
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  routerCase('ORIGIN_PREFIX empty: the bare prefix becomes /', {
    uri: '/_auth',
    headers: [['Host', HOST]],
    patch: STRIP,
    wantUri: '/',
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  routerCase('ORIGIN_PREFIX /auth: the prefix is replaced', {
    uri: '/_auth/logout',
    headers: [['Host', HOST]],
    patch: [["const ORIGIN_PREFIX = '/_auth';", "const ORIGIN_PREFIX = '/auth';"]],
    wantUri: '/auth/logout',
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  const API = [
    ["const AUTH_PREFIX = '/_auth';", "const AUTH_PREFIX = '/api/auth';"],
    ["const ORIGIN_PREFIX = '/_auth';", "const ORIGIN_PREFIX = '/api/auth';"],
  ];
  routerCase('AUTH_PREFIX /api/auth: paths under it go on', {
    uri: '/api/auth/token',
    headers: [['Host', HOST]],
    patch: API,
    wantHeaders: { host: { value: HOST }, 'x-forwarded-host': { value: HOST } },
  });
  routerCase('AUTH_PREFIX /api/auth: /_auth is now 404', {
    uri: '/_auth/token',
    headers: [['Host', HOST]],
    patch: API,
    want: 404,
  });

  // ---- security-headers -----------------------------------------------------------
  const ALL = {
    'strict-transport-security': { value: 'max-age=31536000' },
    'content-security-policy': { value: "frame-ancestors 'none'" },
    'x-frame-options': { value: 'DENY' },
    'x-content-type-options': { value: 'nosniff' },
    'referrer-policy': { value: 'strict-origin-when-cross-origin' },
  };
  function headersCase(name, o) {
    const e = h.viewerResponse({ headers: o.headers, rawHeaderNames: o.rawHeaderNames });
    const want = h.clone(e.response);
    want.headers = o.wantHeaders;
    add({ name: 'security-headers: ' + name, fn: 'security-headers', event: e, want: want, patch: o.patch });
  }
  function merged(first, extra) {
    const out = {};
    const a = Object.keys(first);
    for (let i = 0; i < a.length; i++) out[a[i]] = first[a[i]];
    const b = Object.keys(extra || {});
    for (let i = 0; i < b.length; i++) out[b[i]] = extra[b[i]];
    return out;
  }
  headersCase('all five added to a bare response', {
    headers: [['Content-Type', 'text/html']],
    wantHeaders: merged({ 'content-type': { value: 'text/html' } }, ALL),
  });
  headersCase("the origin's own values are kept", {
    headers: [
      ['Content-Security-Policy', "default-src 'self'"],
      ['X-Frame-Options', 'SAMEORIGIN'],
      ['Referrer-Policy', 'no-referrer'],
    ],
    wantHeaders: merged(
      {
        'content-security-policy': { value: "default-src 'self'" },
        'x-frame-options': { value: 'SAMEORIGIN' },
        'referrer-policy': { value: 'no-referrer' },
      },
      {
        'strict-transport-security': ALL['strict-transport-security'],
        'x-content-type-options': ALL['x-content-type-options'],
      }
    ),
  });
  headersCase('a repeated origin header is kept whole', {
    headers: [
      ['Content-Security-Policy', "default-src 'self'"],
      ['Content-Security-Policy', "frame-ancestors 'self'"],
    ],
    wantHeaders: merged(
      {
        'content-security-policy': {
          value: "default-src 'self'",
          multiValue: [{ value: "default-src 'self'" }, { value: "frame-ancestors 'self'" }],
        },
      },
      {
        'strict-transport-security': ALL['strict-transport-security'],
        'x-frame-options': ALL['x-frame-options'],
        'x-content-type-options': ALL['x-content-type-options'],
        'referrer-policy': ALL['referrer-policy'],
      }
    ),
  });
  headersCase('a header name in other case (a hand-made event) counts as present', {
    rawHeaderNames: true,
    headers: [['Strict-Transport-Security', 'max-age=60']],
    wantHeaders: merged(
      { 'Strict-Transport-Security': { value: 'max-age=60' } },
      {
        'content-security-policy': ALL['content-security-policy'],
        'x-frame-options': ALL['x-frame-options'],
        'x-content-type-options': ALL['x-content-type-options'],
        'referrer-policy': ALL['referrer-policy'],
      }
    ),
  });
  headersCase('OVERWRITE lists a header: the origin value is replaced', {
    rawHeaderNames: true,
    headers: [['Content-Security-Policy', "default-src *"], ['x-frame-options', 'ALLOWALL']],
    patch: [['const OVERWRITE = [];', "const OVERWRITE = ['content-security-policy', 'x-frame-options'];"]],
    wantHeaders: ALL,
  });
  headersCase('an empty value leaves a header out', {
    headers: [],
    patch: [["'strict-transport-security': 'max-age=31536000',", "'strict-transport-security': '',"]],
    wantHeaders: {
      'content-security-policy': ALL['content-security-policy'],
      'x-frame-options': ALL['x-frame-options'],
      'x-content-type-options': ALL['x-content-type-options'],
      'referrer-policy': ALL['referrer-policy'],
    },
  });

  return cases;
}

export default build;
