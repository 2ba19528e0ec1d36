// l42 security headers: CloudFront Function (cloudfront-js-2.0), viewer response.
// Adds the headers below to responses that lack them; a header the origin set is kept
// unless its name is listed in OVERWRITE. CloudFront runs viewer-response functions only
// for origin responses below 400.
// Configuration: the constants below; the deploy step may rewrite them. An empty value
// leaves that header out.

const HEADERS = {
  // Add `; includeSubDomains` (and `; preload`) once every subdomain serves HTTPS only.
  'strict-transport-security': 'max-age=31536000',
  'content-security-policy': "frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
};

// Header names (lower case) whose value from the origin is replaced.
const OVERWRITE = [];

function handler(event) {
  const res = event.response;
  const h = res.headers;
  // Names as the event spells them, by lower case (the event gives lower case already).
  const present = Object.create(null);
  const names = Object.keys(h);
  for (let i = 0; i < names.length; i++) present[names[i].toLowerCase()] = names[i];
  const wanted = Object.keys(HEADERS);
  for (let i = 0; i < wanted.length; i++) {
    const name = wanted[i];
    const value = HEADERS[name];
    if (!value) continue;
    const had = present[name];
    if (had !== undefined) {
      if (OVERWRITE.indexOf(name) < 0) continue;
      delete h[had];
    }
    h[name] = { value: value };
  }
  return res;
}
