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

async function handler(event) {
  const request = event.request;
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
