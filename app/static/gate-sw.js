/* The gate page's service worker (served as /office/gate-sw.js so that it may serve the gate
   page): a reload without network still opens the last copy of the gate page and its files.
   Network first, the cached copy only when the network fails; every other office page goes
   straight to the network. Entries still queue in the page's outbox (localStorage) and go up
   once, by their nonce. */
var CACHE = 'gatepass-gate';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (ev) { ev.waitUntil(self.clients.claim()); });

function isGateFile(url) {
  return url.origin === self.location.origin &&
    (url.pathname.replace(/\/$/, '') === '/office/gate' || url.pathname.indexOf('/static/') === 0);
}

self.addEventListener('fetch', function (ev) {
  var req = ev.request, url = new URL(req.url);
  if (req.method !== 'GET' || !isGateFile(url)) { return; }
  ev.respondWith(fetch(req).then(function (res) {
    if (res.ok && !res.redirected) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { c.put(req, copy); });
    }
    return res;
  }).catch(function () {
    return caches.open(CACHE).then(function (c) {
      return c.match(req).then(function (hit) { return hit || c.match(req, {ignoreSearch: true}); });
    }).then(function (hit) { return hit || Response.error(); });
  }));
});
