// CloudFront Function (cloudfront-js-2.0), viewer request of the /api/* behaviour.
// API Gateway must receive its own Host, so CloudFront cannot forward the viewer's;
// this copies it into x-horizon-host, which the intake function reads (and trusts only
// alongside the origin secret CloudFront adds). A viewer's own x-horizon-host is
// overwritten, never passed on.
function handler(event) {
  const request = event.request;
  const host = request.headers.host ? request.headers.host.value : '';
  request.headers['x-horizon-host'] = { value: host };
  return request;
}
