/* The phone spot-check page: camera -> canvas -> jsQR (vendored, never a CDN), or a typed
   pass code; each check goes through the outbox with its nonce, so a phone without network
   keeps its checks and sends them later, exactly once. */
(function () {
  'use strict';
  var root = document.getElementById('spot');
  if (!root) { return; }
  var text = JSON.parse(document.getElementById('spot-text').textContent);
  var csrf = document.querySelector('meta[name=csrf-token]').content;
  var box = new window.GateOutbox('gatepass.spot-checks.' + root.dataset.user, root.dataset.url, csrf);
  var place = document.getElementById('place');
  var video = document.getElementById('video'), canvas = document.getElementById('frame');
  var camera = document.getElementById('camera'), stream = null, scanning = false;
  var verdict = document.getElementById('verdict'), outboxNote = document.getElementById('outbox');
  var shown = null;  // the nonce of the check the big box is about: a later answer for it updates it

  var saved = window.localStorage.getItem('gatepass.spot-place');
  if (saved && place.querySelector('option[value="' + saved + '"]')) { place.value = saved; }
  place.addEventListener('change', function () { window.localStorage.setItem('gatepass.spot-place', place.value); });
  box.onChange(function (n) { outboxNote.hidden = !n; outboxNote.textContent = text.waiting + ' ' + n; });

  function show(kind, word, msg, who) {
    verdict.className = 'verdict-box ' + kind; verdict.hidden = false;
    verdict.dataset.result = kind; verdict.dataset.later = '';
    document.getElementById('verdict-word').textContent = word;
    document.getElementById('verdict-msg').textContent = msg || '';
    document.getElementById('verdict-who').textContent = who || '';
  }
  function holder(b) {
    var h = b.holder || {};
    return [h.name, h.address, h.code].filter(Boolean).join(' · ');
  }
  function message(body) {
    if (body.reason === undefined) { return text.visit; }
    return document.documentElement.lang === 'en' ? body.message_en : body.message;
  }
  /* A typed code is judged by number only (codes are sequential and guessable): it never
     says plain 通过, and asks the checker to compare the holder's ID. */
  function showResult(body) {
    if (body.reason === undefined) { show('ok', text.visit, body.place); return; }
    var word = body.allowed ? (body.typed ? text.typed_ok : text.ok) : text.deny, msg = message(body);
    msg = msg === text.ok || msg === word ? '' : msg;
    if (body.typed) { msg = text.typed_note + (msg ? ' · ' + msg : ''); }
    show(body.allowed ? 'ok' : 'deny', word, msg, holder(body));
    verdict.dataset.reason = body.reason;
    verdict.dataset.typed = body.typed ? '1' : '';
  }
  function refusal(body) {
    return (body && (document.documentElement.lang === 'en' ? body.message : (body.message_zh || body.message))) || '';
  }
  /* Queued: say why, truthfully. 无网络 only when the device has no network; a lost reply on
     a network that is up, or a server that answered no verdict, is said as such. */
  function queuedMessage(why) {
    return why === 'offline' ? text.queued_msg : why === 'lost' ? text.queued_lost : text.queued_server;
  }
  function log(line) {
    var li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString('zh-CN', {hour12: false}) + ' ' + line;
    var list = document.getElementById('checks');
    list.insertBefore(li, list.firstChild);
  }

  function check(qrText) {
    var body = {nonce: window.GateOutbox.newNonce(), place_id: parseInt(place.value, 10),
                at: new Date().toISOString(), text: qrText || ''};
    shown = body.nonce;
    return box.send(body).then(function (res) {
      if (shown !== body.nonce) { return; }  // a newer check has the box by now
      if (res.sent) { showResult(res.body); log(message(res.body) + ' · ' + (res.body.place || '')); }
      else if (res.rejected) { show('deny', text.rejected, refusal(res.body)); }
      else { show('wait', text.queued, queuedMessage(res.why)); log(text.queued); }
    });
  }

  function stop() {
    scanning = false;
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    camera.hidden = true;
  }
  function tick() {
    if (!scanning) { return; }
    if (video.readyState >= 2 && video.videoWidth) {
      var w = video.videoWidth, h = video.videoHeight, scale = Math.min(1, 800 / Math.max(w, h));
      canvas.width = Math.round(w * scale); canvas.height = Math.round(h * scale);
      var ctx = canvas.getContext('2d', {willReadFrequently: true});
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(img.data, img.width, img.height, {inversionAttempts: 'dontInvert'});
      if (found && found.data) { stop(); check(found.data); return; }
    }
    window.requestAnimationFrame(tick);
  }
  document.getElementById('start-camera').addEventListener('click', function () {
    if (scanning) { stop(); return; }
    var err = document.getElementById('camera-error');
    err.hidden = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { err.hidden = false; return; }
    navigator.mediaDevices.getUserMedia({video: {facingMode: 'environment'}, audio: false}).then(function (s) {
      stream = s; video.srcObject = s; camera.hidden = false; scanning = true;
      video.play().catch(function () {});
      window.requestAnimationFrame(tick);
    }, function () { err.hidden = false; document.getElementById('code').focus(); });
  });
  document.getElementById('typed').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var code = document.getElementById('code');
    if (!code.value.trim()) { code.focus(); return; }
    check(code.value.trim().toUpperCase()).then(function () { code.value = ''; });
  });
  document.getElementById('visit').addEventListener('click', function () { check(''); });
  /* A queued check answered later: logged, and if the big box still waits for it, the box
     shows the answer (or the refusal) instead of staying on 已保存在本机 for good. */
  box.keepSending(15000, function (item, body, refused) {
    var current = item.nonce === shown && verdict.dataset.result === 'wait';
    if (body) {
      log(text.sent_later + ' · ' + message(body) + ' · ' + (body.place || '') + (body.holder ? ' · ' + holder(body) : ''));
      if (current) { showResult(body); verdict.dataset.later = '1'; }
    } else {
      log(text.rejected + ' ' + refusal(refused));
      if (current) { show('deny', text.rejected, refusal(refused)); verdict.dataset.later = '1'; }
    }
  });
})();
