// CloudFront Function (cloudfront-js-2.0), viewer request: Host header -> current release.
// Generated into the stack by infra/horizon_infra/cdn.py; __KVS_ID__ and __BASE_DOMAIN__
// are filled in there. The provisioner writes r:<slug> when it switches a release.
import cf from 'cloudfront';

const kvs = cf.kvs('__KVS_ID__');
const SUFFIX = '.__BASE_DOMAIN__';
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

async function lookup(key) {
  try {
    return await kvs.get(key);
  } catch (err) {
    return null; // a missing key throws
  }
}

async function slugFor(host) {
  const custom = await lookup('d:' + host);
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
  const release = slug ? await lookup('r:' + slug) : null;
  if (!release) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  // The cache key is this rewritten URI: each release is cached on its own, forever.
  request.uri = '/sites/' + slug + '/' + release + withIndex(request.uri);
  return request;
}
