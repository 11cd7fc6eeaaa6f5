// CloudFront Function (cloudfront-js-2.0), viewer request: Host header -> current release.
// Generated into the stack by infra/horizon_infra/cdn.py; the __NAMES__ are filled in
// there (key prefixes from provisioner/targets/layout.py). The provisioner writes the
// release key of a nation when it switches a release.
import cf from 'cloudfront';

const kvs = cf.kvs('__KVS_ID__');
const SUFFIX = '.__BASE_DOMAIN__';
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const DOMAIN_KEY = '__DOMAIN_KEY_PREFIX__';
const RELEASE_KEY = '__RELEASE_KEY_PREFIX__';
const SITES = '/__SITES_PREFIX__';

async function lookup(key) {
  try {
    return await kvs.get(key);
  } catch (err) {
    return null; // a missing key throws
  }
}

async function slugFor(host) {
  const custom = await lookup(DOMAIN_KEY + host);
  if (custom) {
    return custom;
  }
  if (host.endsWith(SUFFIX)) {
    const label = host.slice(0, -SUFFIX.length);
    if (SLUG.test(label)) {
      return label;
    }
  }
  return null;
}

function withIndex(uri) {
  if (uri.endsWith('/')) {
    return uri + 'index.html';
  }
  const last = uri.slice(uri.lastIndexOf('/') + 1);
  return last.includes('.') ? uri : uri + '/index.html';
}

// A dot segment ("." or "..", also percent-encoded, or behind a backslash) could climb
// out of the nation's release prefix once the URI is rewritten: refuse it outright.
const DOT_SEGMENT = /(^|[\/\\])\.{1,2}([\/\\]|$)/;

function decodedForms(uri) {
  const forms = [uri];
  let current = uri;
  for (let round = 0; round < 3; round++) { // %252e%252e is %2e%2e once decoded
    let next;
    try {
      next = decodeURIComponent(current);
    } catch (err) {
      return null; // malformed percent-encoding
    }
    if (next === current) {
      break;
    }
    forms.push(next);
    current = next;
  }
  return forms;
}

function unsafe(uri) {
  if (!uri.startsWith('/')) {
    return true;
  }
  const forms = decodedForms(uri);
  return forms === null || forms.some((form) => DOT_SEGMENT.test(form) || form.includes('\0'));
}

async function handler(event) {
  const request = event.request;
  if (unsafe(request.uri)) {
    return { statusCode: 400, statusDescription: 'Bad Request' };
  }
  const host = request.headers.host ? request.headers.host.value.toLowerCase() : '';
  const slug = await slugFor(host);
  const release = slug ? await lookup(RELEASE_KEY + slug) : null;
  if (!release) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  // The cache key is this rewritten URI: each release is cached on its own, forever.
  request.uri = SITES + slug + '/' + release + withIndex(request.uri);
  return request;
}
