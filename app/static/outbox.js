/* A queue in localStorage for what a phone or tablet sends while the network comes and goes.
   Each item carries its nonce; it is stored before it is sent and removed only when the
   service has answered for it, and the service stores a nonce once: exactly once, even if
   the page is closed mid-request or the same item is sent twice. No CDN, no framework. */
(function (global) {
  'use strict';
  function newNonce() {
    var b = new Uint8Array(16);
    (global.crypto || global.msCrypto).getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }
  function Outbox(key, url, csrf) {
    this.key = key; this.url = url; this.csrf = csrf; this.sending = false; this.listeners = [];
  }
  Outbox.prototype.items = function () {
    try { return JSON.parse(global.localStorage.getItem(this.key) || '[]'); } catch (e) { return []; }
  };
  Outbox.prototype.save = function (items) {
    global.localStorage.setItem(this.key, JSON.stringify(items));
    this.listeners.forEach(function (f) { f(items.length); });
  };
  Outbox.prototype.onChange = function (f) { this.listeners.push(f); f(this.items().length); };
  Outbox.prototype.add = function (body) {
    var items = this.items();
    if (!items.some(function (i) { return i.nonce === body.nonce; })) { items.push(body); this.save(items); }
  };
  Outbox.prototype.remove = function (nonce) {
    this.save(this.items().filter(function (i) { return i.nonce !== nonce; }));
  };
  /* A refusal the service gave on purpose (a code like BAD_FIELD or NO_PLACE): resending it will
     never work, so it is shown and dropped. A CSRF failure (the login expired: the page's token
     is stale) is a generic "bad_request" and is kept, to go with the next page's token. */
  function refused(res) {
    return [400, 404, 409, 413].indexOf(res.status) >= 0 && !!res.body &&
      typeof res.body.error === 'string' && res.body.error !== 'bad_request';
  }
  Outbox.prototype.post = function (body) {
    return global.fetch(this.url, {
      method: 'POST', credentials: 'same-origin', redirect: 'error',
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': this.csrf, 'Accept': 'application/json'},
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (j) { return {status: r.status, body: j}; },
                           function () { return {status: r.status, body: null}; });
    });
  };
  /* Resolves {sent, body} | {rejected, body} (a 4xx that will never succeed) | {queued, why}.
     why says what to tell the user: 'offline' (the device has no network), 'lost' (the
     request or its reply was lost on a network that is up), 'server' (an answer that was no
     verdict: 401/403 logged out, 429, 5xx). */
  Outbox.prototype.send = function (body) {
    var self = this;
    this.add(body);
    if (global.navigator.onLine === false) { return Promise.resolve({queued: true, why: 'offline'}); }
    return this.post(body).then(function (res) {
      if (res.status === 200 && res.body) { self.remove(body.nonce); return {sent: true, body: res.body}; }
      if (refused(res)) { self.remove(body.nonce); return {rejected: true, body: res.body}; }
      return {queued: true, why: 'server', status: res.status};  // keep it and try later
    }, function () {
      return {queued: true, why: global.navigator.onLine === false ? 'offline' : 'lost'};
    });
  };
  /* Send what waits, oldest first; stops at the first network failure. */
  Outbox.prototype.flush = function (onResult) {
    var self = this;
    if (this.sending) { return Promise.resolve(0); }
    this.sending = true;
    var sent = 0;
    function next() {
      var items = self.items();
      if (!items.length) { return Promise.resolve(sent); }
      var item = items[0];
      return self.post(item).then(function (res) {
        if (res.status === 200 && res.body) { self.remove(item.nonce); sent++; if (onResult) { onResult(item, res.body); } return next(); }
        if (refused(res)) { self.remove(item.nonce); if (onResult) { onResult(item, null, res.body); } return next(); }
        return sent;
      }, function () { return sent; });
    }
    return next().then(function (n) { self.sending = false; return n; }, function () { self.sending = false; return sent; });
  };
  /* Flush when the network comes back, and every `every` ms. */
  Outbox.prototype.keepSending = function (every, onResult) {
    var self = this;
    global.addEventListener('online', function () { self.flush(onResult); });
    global.setInterval(function () { if (global.navigator.onLine !== false) { self.flush(onResult); } }, every || 15000);
    self.flush(onResult);
  };
  global.GateOutbox = Outbox;
  global.GateOutbox.newNonce = newNonce;
})(window);
