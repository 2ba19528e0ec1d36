// l42 auth router: CloudFront Function (cloudfront-js-2.0), viewer request, on the
// behaviour that sends AUTH_PREFIX/* to the auth API.
// - Only paths under AUTH_PREFIX go on; anything else (or a path with dot segments,
//   backslashes or encoded slashes) is answered 404 here.
// - The viewer's Host is copied into x-forwarded-host, replacing whatever the client sent
//   (CloudFront gives the origin its own domain as Host).
// - Forwarding headers the client made up are dropped (list below).
// - The path goes through unchanged, or with AUTH_PREFIX replaced by ORIGIN_PREFIX.
// Configuration: the two constants below; the deploy step may rewrite those two lines.

// The backend's AUTH_PATH_PREFIX as viewers see it.
const AUTH_PREFIX = '/_auth';
// What the origin gets instead of AUTH_PREFIX ('' strips it; equal = no rewrite).
const ORIGIN_PREFIX = '/_auth';

// Dropped when the viewer sent them. x-forwarded-for too: CloudFront appends the viewer's
// address to any it receives, so without the client's entries the origin sees exactly the
// viewer (and what API Gateway appends). x-forwarded-proto and x-real-ip never reach a
// function: CloudFront owns them.
const DROP = [
  'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-port',
  'x-forwarded-prefix', 'x-forwarded-server', 'x-forwarded-scheme', 'x-forwarded-ssl',
  'x-original-url', 'x-original-uri', 'x-original-host', 'x-rewrite-url', 'x-host',
  'x-http-method-override', 'x-http-method', 'x-method-override',
  'x-client-ip', 'true-client-ip', 'client-ip', 'x-cluster-client-ip',
];

const BAD_PATH = /(^|\/)(\.|%2e){1,2}(\/|$)|\\|%5c|%2f|%00/i;

function handler(event) {
  const req = event.request;
  const uri = req.uri;
  const under = uri === AUTH_PREFIX || uri.startsWith(AUTH_PREFIX + '/');
  if (!under || BAD_PATH.test(uri)) {
    return {
      statusCode: 404,
      statusDescription: 'Not Found',
      headers: {
        'content-type': { value: 'application/json' },
        'cache-control': { value: 'no-store' },
      },
      body: { encoding: 'text', data: '{"error":"Not found"}' },
    };
  }
  const h = req.headers;
  const sent = h['x-forwarded-host'];
  const names = Object.keys(h);
  for (let i = 0; i < names.length; i++) {
    if (DROP.indexOf(names[i].toLowerCase()) >= 0) delete h[names[i]];
  }
  const host = h.host && h.host.value;
  if (host) {
    const xfh = { value: host };
    // Several values sent: a new multiValue makes CloudFront replace all of them.
    if (sent && sent.multiValue) xfh.multiValue = [{ value: host }];
    h['x-forwarded-host'] = xfh;
  }
  if (ORIGIN_PREFIX !== AUTH_PREFIX) {
    req.uri = ORIGIN_PREFIX + uri.slice(AUTH_PREFIX.length) || '/';
  }
  return req;
}
