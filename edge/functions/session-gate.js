import crypto from 'crypto';
import cf from 'cloudfront';

// l42 session gate: CloudFront Function (cloudfront-js-2.0), viewer request, on the
// behaviours that serve protected static paths. A request goes on only with a session
// cookie `v1.<sid>.<exp>.<mac>` whose HMAC-SHA256 verifies under the current or previous
// secret and whose expiry is still ahead; otherwise 302 to `<login>?return_to=<path>`.
// KeyValueStore keys: session_secret, session_secret_previous (UTF-8, >= 32 bytes) and
// gate_config (JSON, every field optional):
//   {"cookie": name, "login": path, "protect": [prefix...], "public": [prefix...]}
// A prefix ending in `/` covers what starts with it, another covers itself and what is
// below it. Whatever is missing, malformed or unreadable falls back to the defaults
// below (everything protected), and without a usable current secret nothing goes on.
// Paths are matched as the most lenient origin could read them: `protect` decoded once,
// slashes merged and case ignored (`//Private/x`, `/%2fprivate/x` are `/private/x`);
// `public` exactly as decoded, never across `//`. A path another origin could still read
// otherwise (dot segments, `\`, `;`, `:`, `?`, `#`, an escape left after decoding, a
// segment ending in `.` or a space, anything but printable ASCII) or that does not decode
// is always gated. Prefixes are read the same way (decoded once; an ambiguous one is
// malformed), and so is the login path, which must match exactly.

const DEFAULTS = { cookie: '__Host-l42_session', login: '/_auth/login', protect: ['/'], public: [] };
// 'v1.' + 43 + '.' + at most 12 digits + '.' + 43: anything longer is rejected unread.
const MAX_VALUE = 103;
// Values of one name looked at, at most (each may cost two HMACs).
const MAX_COOKIES = 8;
const V1 = /^v1\.([A-Za-z0-9_-]{43})\.([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/;
// One leading slash, then URL path characters only (no `?`, `#`, `\`, space, non-ASCII).
const SAFE_PATH = /^\/(?![\/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@\/%]*$/;
const QUERY_PART = /^[A-Za-z0-9\-._~!$'()*+,;:@\/?%]*$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
// What some origin would read otherwise: anything but printable ASCII (Unicode that case
// folding or a best-fit mapping turns into ASCII, NUL); `\`; `;` parameters; `:` (NTFS
// streams); `?` and `#` decoded (a proxy passing the decoded path on ends the path
// there); an escape still left (`%2f`, IIS `%u`); a segment ending in `.` or a space
// (Windows drops those; `.` and `..` segments too).
const AMBIGUOUS = /[^\x20-\x7e]|[\\;:?#]|%[0-9A-Fa-fUu]|[. ](\/|$)/;

async function handler(event) {
  const req = event.request;
  let kvs = null;
  let conf = null;
  try {
    kvs = cf.kvs();
    conf = await kvs.get('gate_config', { format: 'json' });
  } catch (e) {
    // no store, no gate_config or not JSON: the defaults
  }
  const c = settings(conf);
  const path = decoded(req.uri);
  if (req.uri === c.login || !isProtected(c, path)) return req;
  const now = Math.floor(Date.now() / 1000);
  const live = candidates(req.cookies, c.cookie, now);
  if (live.length && kvs) {
    const current = await secret(kvs, 'session_secret');
    if (current) {
      if (verifies(live, current)) return req;
      // read only when the current secret matched nothing
      const previous = await secret(kvs, 'session_secret_previous');
      if (previous && verifies(live, previous)) return req;
    }
  }
  return redirect(c.login, req);
}

function settings(o) {
  o = o && typeof o === 'object' ? o : {};
  return {
    cookie: typeof o.cookie === 'string' && TOKEN.test(o.cookie) ? o.cookie : DEFAULTS.cookie,
    login: safe(o.login) && decoded(o.login) ? o.login : DEFAULTS.login,
    protect: (prefixes(o.protect, 1) || DEFAULTS.protect).map(loose),
    public: prefixes(o.public, 0) || DEFAULTS.public,
  };
}

function safe(p) {
  return typeof p === 'string' && SAFE_PATH.test(p);
}

// The prefixes decoded, as paths are; null when one is unsafe or ambiguous.
function prefixes(a, min) {
  if (!Array.isArray(a) || a.length < min) return null;
  const out = [];
  for (let i = 0; i < a.length; i++) {
    const p = safe(a[i]) && decoded(a[i]);
    if (!p) return null;
    out.push(p);
  }
  return out;
}

// The path decoded once; null when it does not decode or some origin could read it
// otherwise.
function decoded(uri) {
  try {
    const p = decodeURIComponent(uri);
    return AMBIGUOUS.test(p) ? null : p;
  } catch (e) {
    return null;
  }
}

// Covered by `protect` as any origin could read it (slashes merged, case ignored; the
// prefixes are in that form already), and not public as the strictest one reads it (as
// is, no `//`).
function isProtected(c, path) {
  if (path === null) return true;
  if (!covers(c.protect, loose(path))) return false;
  return path.indexOf('//') >= 0 || !covers(c.public, path);
}

// ASCII only by then, so lower-casing means the same in every engine.
function loose(p) {
  return p.replace(/\/{2,}/g, '/').toLowerCase();
}

function covers(list, path) {
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    if (p.endsWith('/') ? path.startsWith(p) : path === p || path.startsWith(p + '/')) return true;
  }
  return false;
}

// Well-formed, unexpired values of the cookie, as [sid, exp, mac] matches.
function candidates(cookies, name, now) {
  const c = cookies && Object.prototype.hasOwnProperty.call(cookies, name) ? cookies[name] : null;
  if (!c) return [];
  const all = c.multiValue && c.multiValue.length ? c.multiValue : [c];
  const out = [];
  for (let i = 0; i < all.length && i < MAX_COOKIES; i++) {
    const v = all[i] && all[i].value;
    const m = typeof v === 'string' && v.length <= MAX_VALUE ? V1.exec(v) : null;
    if (m && Number(m[2]) > now) out.push(m);
  }
  return out;
}

async function secret(kvs, key) {
  try {
    const s = await kvs.get(key);
    return typeof s === 'string' && s.length >= 32 ? s : null;
  } catch (e) {
    return null;
  }
}

function verifies(live, key) {
  for (let i = 0; i < live.length; i++) {
    const m = live[i];
    const mac = crypto.createHmac('sha256', key).update('v1.' + m[1] + '.' + m[2]).digest('base64url');
    if (same(mac, m[3])) return true;
  }
  return false;
}

// Constant-time for equal lengths: no early exit on the first difference.
function same(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return d === 0;
}

// The token handler keeps a `return_to` of at most 512 bytes (else `/`).
const MAX_RETURN = 512;

function redirect(login, req) {
  let to = SAFE_PATH.test(req.uri) ? req.uri : '/';
  const q = query(req.querystring);
  if (q && to.length + q.length < MAX_RETURN) to += '?' + q;
  return {
    statusCode: 302,
    statusDescription: 'Found',
    headers: {
      location: { value: login + '?return_to=' + encodeURIComponent(to.length <= MAX_RETURN ? to : '/') },
      'cache-control': { value: 'no-store' },
    },
  };
}

// The query string again, names sorted (njs enumerates a large object in hash order),
// each name and value kept when it is already URL-safe, else encoded.
function query(qs) {
  const parts = [];
  const names = Object.keys(qs || {}).sort();
  for (let n = 0; n < names.length; n++) {
    const e = qs[names[n]];
    const all = e.multiValue && e.multiValue.length ? e.multiValue : [e];
    for (let i = 0; i < all.length; i++) parts.push(part(names[n]) + '=' + part(all[i].value));
  }
  return parts.join('&');
}

function part(s) {
  s = String(s);
  return QUERY_PART.test(s) ? s : encodeURIComponent(s);
}
