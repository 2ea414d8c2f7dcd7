/* The resident's pass page: keep the rotating code fresh, and say in words when it cannot be.
   A code older than DYNAMIC_TOKEN_MAX_AGE is refused at the gate, so when the phone has no
   network the page hides it and tells the resident what to do (connect; or the printed card;
   or the pass code for the guard) instead of showing a greyed code under "有效". Also the 大字
   (large text) switch, remembered on this phone in a cookie (the page is drawn large from
   the first paint). */
(function () {
  var qr = document.getElementById('qr');
  if (!qr) return;
  var url = qr.dataset.url, every = (+qr.dataset.refresh || 30) * 1000;
  var maxAge = (+qr.dataset.maxAge || 60) * 1000, labels = JSON.parse(qr.dataset.labels);
  var code = qr.querySelector('.code'), status = document.getElementById('status');
  var statusText = document.getElementById('status-text'), note = document.getElementById('refresh-note');
  var noteText = note.textContent, drawnAt = Date.now(), shown = status.className.split(' ')[1];
  var hasCode = !!code.querySelector('svg');

  function setStatus(key) { statusText.textContent = labels[key]; status.className = 'status-line ' + key; }
  function tick() {
    var d = new Date();
    document.getElementById('clock').textContent = d.toLocaleTimeString('zh-CN', {hour12: false});
    if (!hasCode) return;
    var left = Math.ceil((drawnAt + maxAge - Date.now()) / 1000);
    if (left <= 0) { qr.classList.add('stale'); setStatus('stale'); }
    else if (qr.classList.contains('offline')) note.textContent = note.dataset.offline.replace('{s}', left);
  }
  function refresh() {
    fetch(url, {cache: 'no-store'}).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        shown = data.quarantine && data.status === 'active' ? 'quarantine' : data.status;
        hasCode = !!data.svg;
        if (data.svg) { code.innerHTML = data.svg; qr.classList.remove('off'); }
        else { code.innerHTML = '<div class="stop">' + labels[data.status] + '</div>'; qr.classList.add('off'); }
        qr.classList.remove('stale', 'offline'); note.textContent = noteText;
        drawnAt = Date.now(); setStatus(shown);
        qr.dataset.drawnAt = data.drawn_at;  // when the code on screen was signed
      }).catch(function () { qr.classList.add('offline'); tick(); });
  }
  // Keep the screen on while the resident walks up to the gate.
  function wake() { if (navigator.wakeLock) { navigator.wakeLock.request('screen').catch(function () {}); } }
  document.addEventListener('visibilitychange', function () { if (!document.hidden) { refresh(); wake(); } });
  window.addEventListener('online', refresh);
  tick(); setInterval(tick, 1000); setInterval(refresh, every); wake();

  var big = document.getElementById('big-text');
  function showBig() {
    var on = document.documentElement.classList.contains('big');
    big.setAttribute('aria-pressed', on ? 'true' : 'false');
    big.textContent = on ? big.dataset.on : big.dataset.off;
  }
  if (big) {
    showBig();
    big.addEventListener('click', function () {
      var on = document.documentElement.classList.toggle('big');
      document.cookie = 'big=' + (on ? '1' : '0') + '; path=/; max-age=31536000; SameSite=Lax';
      showBig();
    });
  }
})();
