/* The registration form's home picker: once a building is chosen, the unit and room lists
   offer only that building's units and rooms (without JavaScript they list all of them and
   the service resolves the three). Also the status page's copy/share button. */
(function () {
  var box = document.getElementById('home-pick');
  if (box) {
    var tree = JSON.parse(box.dataset.homes);
    var b = box.querySelector('select[name=building]'), u = box.querySelector('select[name=unit]'),
        r = box.querySelector('select[name=room]');
    var fill = function (select, values) {
      var keep = select.value, first = select.options[0];
      select.innerHTML = ''; select.appendChild(first);
      values.forEach(function (v) { var o = document.createElement('option'); o.textContent = v; select.appendChild(o); });
      select.value = values.indexOf(keep) >= 0 ? keep : '';
    };
    var units = function () { fill(u, Object.keys(tree[b.value] || {})); rooms(); };
    var rooms = function () {
      var byUnit = tree[b.value] || {}, list = u.value ? (byUnit[u.value] || []) : [];
      if (!u.value && Object.keys(byUnit).length === 1) { u.value = Object.keys(byUnit)[0]; list = byUnit[u.value]; }
      fill(r, list);
    };
    if (b.value) { units(); } else { fill(u, []); fill(r, []); }
    b.addEventListener('change', units);
    u.addEventListener('change', rooms);
  }
  var reload = document.getElementById('reload');  /* a pending entry: look again every minute */
  if (reload) setTimeout(function () { location.reload(); }, (+reload.dataset.reload || 60) * 1000);
  var copy = document.getElementById('copy-link');
  if (copy) {
    copy.hidden = false;
    copy.addEventListener('click', function () {
      var field = document.getElementById('status-url'), url = field.value;
      var done = function () { copy.textContent = copy.dataset.done; };
      if (navigator.share) { navigator.share({title: document.title, url: url}).catch(function () {}); return; }
      if (navigator.clipboard) { navigator.clipboard.writeText(url).then(done, function () { field.select(); }); }
      else { field.select(); document.execCommand('copy'); done(); }
    });
  }
})();
