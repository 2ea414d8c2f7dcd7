/* The gate page: big buttons open a kind's form; saving posts it with a nonce made here,
   through the outbox (localStorage), so a double tap or a dropped network stores it once. */
(function () {
  'use strict';
  var root = document.getElementById('gate');
  if (!root) { return; }
  var text = JSON.parse(document.getElementById('gate-text').textContent);
  var csrf = document.querySelector('meta[name=csrf-token]').content;
  var gateId = parseInt(root.dataset.gateId, 10);
  var box = new window.GateOutbox('gatepass.gate-events.' + gateId, root.dataset.url, csrf);
  var toast = document.getElementById('toast');
  var outboxNote = document.getElementById('outbox');

  function say(msg, kind) {
    toast.textContent = msg; toast.className = 'toast ' + (kind || 'ok'); toast.hidden = false;
    clearTimeout(say.t); say.t = setTimeout(function () { toast.hidden = true; }, 6000);
  }
  box.onChange(function (n) { outboxNote.hidden = !n; outboxNote.textContent = text.waiting + ' ' + n; });

  function clock() {
    document.getElementById('clock').textContent = new Date().toLocaleTimeString('zh-CN', {hour12: false});
  }
  clock(); setInterval(clock, 1000);

  var panels = document.querySelectorAll('form.panel');
  function closeAll() { panels.forEach(function (p) { p.hidden = true; }); }
  document.querySelectorAll('[data-open]').forEach(function (b) {
    b.addEventListener('click', function () {
      var panel = document.getElementById('panel-' + b.dataset.open);
      var wasOpen = !panel.hidden;
      closeAll();
      if (!wasOpen) {
        panel.hidden = false;
        if (!panel.dataset.nonce) { panel.dataset.nonce = window.GateOutbox.newNonce(); }
        panel.scrollIntoView({block: 'nearest'});
      }
    });
  });
  document.querySelectorAll('[data-close]').forEach(function (b) {
    b.addEventListener('click', closeAll);
  });

  function bodyOf(form) {
    var body = {nonce: form.dataset.nonce, kind: form.dataset.kind, gate_id: gateId,
                at: new Date().toISOString(), note: ''};
    form.querySelectorAll('input, textarea').forEach(function (el) {
      if (!el.name) { return; }
      if (el.type === 'radio') { if (el.checked) { body[el.name] = el.value; } return; }
      if (el.type === 'checkbox') { body[el.name] = el.checked; return; }
      var v = el.value.trim();
      if (!v) { return; }
      body[el.name] = el.dataset.type === 'int' && /^\d+$/.test(v) ? parseInt(v, 10) : v;
    });
    return body;
  }

  function countUp(kind) {  /* the "今日 N" on the kind's big button follows what was saved */
    var b = document.querySelector('[data-open="' + kind + '"]'), small = b && b.querySelector('small.today');
    if (!small) { return; }
    b.dataset.count = (parseInt(b.dataset.count, 10) || 0) + 1;
    small.textContent = text.today.replace('{n}', b.dataset.count); small.hidden = false;
  }

  function addRecent(label) {
    var list = document.getElementById('recent');
    var none = document.getElementById('no-recent');
    if (none) { none.remove(); }
    var li = document.createElement('li');
    var t = new Date().toLocaleTimeString('zh-CN', {hour12: false, hour: '2-digit', minute: '2-digit'});
    li.textContent = t + ' ' + label;
    list.insertBefore(li, list.firstChild);
  }

  panels.forEach(function (form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (!form.dataset.nonce) { form.dataset.nonce = window.GateOutbox.newNonce(); }
      var body = bodyOf(form);
      var label = form.querySelector('h3').textContent;
      var button = form.querySelector('button[type=submit]');
      button.disabled = true;
      box.send(body).then(function (res) {
        button.disabled = false;
        if (res.rejected) {
          say(text.rejected + ((res.body && (res.body.message_zh || res.body.message)) || ''), 'error');
          return;
        }
        form.reset();
        delete form.dataset.nonce;  // the next event is a new one
        closeAll();
        if (res.sent) { say(text.saved + '：' + label + ' #' + res.body.event_id, 'ok'); form.dataset.lastEvent = res.body.event_id; }
        else { say(text.queued, 'warn'); }
        addRecent(label);
        countUp(form.dataset.kind);
      });
    });
  });
  box.keepSending(15000, function (item, body) {
    if (body) { say(text.sent_later + ' #' + body.event_id, 'ok'); }
  });

  /* Reloaded without network the page still opens: a service worker keeps the last copy of
     this page and its files (static/gate-sw.js). Logging out forgets that copy. */
  var me = document.getElementById('gate-js');
  if ('serviceWorker' in navigator && me && me.dataset.sw) {
    navigator.serviceWorker.register(me.dataset.sw, {scope: me.dataset.sw.replace(/[^/]*$/, '')})
      .then(function () { return window.caches && caches.open('gatepass-gate'); })
      .then(function (c) {  /* this very page and its files, for the first reload offline */
        if (!c) { return; }
        var files = [location.href];
        document.querySelectorAll('script[src], link[rel=stylesheet]').forEach(function (el) { files.push(el.src || el.href); });
        return c.addAll(files);
      }).then(function () { document.documentElement.dataset.offlineReady = 'yes'; })
      .catch(function () {});
  }
  document.querySelectorAll('form[action$="/logout"]').forEach(function (f) {
    f.addEventListener('submit', function () { if (window.caches) { caches.delete('gatepass-gate'); } });
  });
})();
