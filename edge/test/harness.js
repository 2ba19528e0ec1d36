// The test harness, written for both engines: Debian's njs 0.7.9 and Node. njs 0.7.9 has
// no destructuring, spread, for-of, classes, default parameters, Map or Set, and no
// `await` inside call arguments, so none are used here.
//
// compile()       loads a function file the way CloudFront does: `import x from 'crypto'`
//                 and `import x from 'cloudfront'` are bound to what the caller passes;
//                 any other import or export is refused.
// cloudfront()    a stand-in for the `cloudfront` module: cf.kvs() with get/exists/meta
//                 over a plain object, a key missing rejects, and failure modes.
// viewerRequest() / viewerResponse()
//                 CloudFront events from raw headers, a raw query string and a raw Cookie
//                 header, shaped as CloudFront shapes them (lower-case header names, one
//                 field per name, `multiValue` for repeats, cookies apart from headers).

const IMPORT = /^import\s+([A-Za-z_$][\w$]*)\s+from\s+'(crypto|cloudfront)';?\s*$/;

function compile(source, label) {
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = IMPORT.exec(lines[i]);
    if (m) {
      // Same line, so line numbers in errors stay those of the file.
      lines[i] = 'const ' + m[1] + ' = __modules.' + m[2] + ';';
    } else if (/^\s*(import|export)\b/.test(lines[i])) {
      throw new Error(label + ':' + (i + 1) + ': only crypto and cloudfront can be imported');
    }
  }
  const body = '"use strict"; ' + lines.join('\n') + '\nreturn handler;';
  return new Function('__modules', body);
}

function hasOwn(o, k) {
  return Object.prototype.hasOwnProperty.call(o, k);
}

// entries: key -> stored string. options.mode: '' (works), 'throws' (get throws),
// 'rejects' (get rejects), 'no-store' (cf.kvs() throws: no store associated).
// options.failing: keys whose get rejects although the others work.
// The returned stats record the keys read, in order, and the most reads in flight at once
// (1 when the function awaits each read before the next).
function cloudfront(entries, options) {
  const mode = (options && options.mode) || '';
  const failing = (options && options.failing) || [];
  const stats = { reads: [], maxInFlight: 0 };
  let inFlight = 0;
  function settle(p) {
    inFlight++;
    if (inFlight > stats.maxInFlight) stats.maxInFlight = inFlight;
    return p.then(
      function (v) {
        inFlight--;
        return v;
      },
      function (e) {
        inFlight--;
        throw e;
      }
    );
  }
  function lookup(key, format) {
    if (mode === 'rejects' || failing.indexOf(key) >= 0) {
      throw new Error('KeyValueStore read failed');
    }
    if (!hasOwn(entries, key)) throw new Error('Key not found: ' + key);
    const raw = entries[key];
    if (format === 'json') return JSON.parse(raw);
    if (format === 'bytes') return Buffer.from(raw);
    return raw;
  }
  const handle = {
    get: function (key, opts) {
      stats.reads.push(key);
      if (mode === 'throws') throw new Error('KeyValueStore unavailable');
      const format = (opts && opts.format) || 'string';
      return settle(
        new Promise(function (resolve) {
          resolve(lookup(key, format));
        })
      );
    },
    exists: function (key) {
      stats.reads.push('exists:' + key);
      return settle(Promise.resolve(hasOwn(entries, key)));
    },
    meta: function () {
      return Promise.resolve({ creationDateTime: '2026-01-01T00:00:00Z', keyCount: Object.keys(entries).length });
    },
  };
  return {
    stats: stats,
    module: {
      kvs: function () {
        if (mode === 'no-store') throw new Error('no KeyValueStore associated with this function');
        return handle;
      },
    },
  };
}

// [[name, value], ...] -> CloudFront's field object. lower: lower-case the names (headers).
function fields(pairs, lower) {
  const out = {};
  for (let i = 0; i < pairs.length; i++) {
    const name = lower ? pairs[i][0].toLowerCase() : pairs[i][0];
    const value = pairs[i][1];
    if (!hasOwn(out, name)) {
      out[name] = { value: value };
    } else {
      const f = out[name];
      if (!f.multiValue) f.multiValue = [{ value: f.value }];
      f.multiValue.push({ value: value });
    }
  }
  return out;
}

function trim(s) {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

// A raw query string (without `?`) as CloudFront passes it: split at `&` and at the
// first `=`, names and values left as the viewer spelled them.
function parseQuery(raw) {
  const pairs = [];
  const pieces = raw ? raw.split('&') : [];
  for (let i = 0; i < pieces.length; i++) {
    if (pieces[i] === '') continue;
    const eq = pieces[i].indexOf('=');
    pairs.push(eq < 0 ? [pieces[i], ''] : [pieces[i].slice(0, eq), pieces[i].slice(eq + 1)]);
  }
  return fields(pairs, false);
}

// A Cookie header by the cookie vectors' rules: split at `;`, spaces and tabs trimmed,
// empty pieces, pieces without `=` and empty names skipped, split at the first `=`,
// values neither unquoted nor decoded, names case-sensitive.
function parseCookieHeader(header) {
  const pairs = [];
  const pieces = header ? header.split(';') : [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = trim(pieces[i]);
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    const name = trim(piece.slice(0, eq));
    if (name === '') continue;
    pairs.push([name, trim(piece.slice(eq + 1))]);
  }
  return fields(pairs, false);
}

// o: {method, uri, query (raw), headers ([[name, value]] as sent), cookie (raw header),
// rawHeaderNames (keep the names' case, as a hand-written test event might)}
function viewerRequest(o) {
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'l42-edge-test',
    },
    viewer: { ip: '198.51.100.7' },
    request: {
      method: o.method || 'GET',
      uri: o.uri,
      querystring: parseQuery(o.query || ''),
      headers: fields(o.headers || [], !o.rawHeaderNames),
      cookies: parseCookieHeader(o.cookie || ''),
    },
  };
}

// o: {uri, status, headers ([[name, value]] from the origin), rawHeaderNames}
function viewerResponse(o) {
  const e = viewerRequest({ uri: o.uri || '/', headers: [['Host', 'app.example.com']] });
  e.context.eventType = 'viewer-response';
  e.response = {
    statusCode: o.status || 200,
    statusDescription: 'OK',
    headers: fields(o.headers || [], !o.rawHeaderNames),
    cookies: {},
  };
  return e;
}

// JSON with object keys sorted, so that outputs compare as text.
function canonical(v) {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  const keys = Object.keys(v).sort();
  const parts = [];
  for (let i = 0; i < keys.length; i++) {
    if (v[keys[i]] !== undefined) parts.push(JSON.stringify(keys[i]) + ':' + canonical(v[keys[i]]));
  }
  return '{' + parts.join(',') + '}';
}

function clone(v) {
  return JSON.parse(JSON.stringify(v));
}

export default {
  compile: compile,
  cloudfront: cloudfront,
  viewerRequest: viewerRequest,
  viewerResponse: viewerResponse,
  parseCookieHeader: parseCookieHeader,
  parseQuery: parseQuery,
  canonical: canonical,
  clone: clone,
};
