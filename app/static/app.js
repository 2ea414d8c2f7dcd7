/* Page behaviours without inline handlers (the Content-Security-Policy forbids them):
   data-confirm="…" on a button asks before its form is sent; data-autosubmit on an input
   sends its form when it changes; data-select-all selects a read-only box's text on click;
   data-check-all="NAME" on a checkbox ticks every NAME checkbox of its form. */
(function () {
  document.addEventListener('click', function (ev) {
    var el = ev.target.closest('[data-confirm]');
    if (el && !window.confirm(el.getAttribute('data-confirm'))) ev.preventDefault();
    var box = ev.target.closest('[data-select-all]');
    if (box) box.select();
    var all = ev.target.closest('[data-check-all]');  /* a header checkbox ticks its column */
    if (all && all.form) all.form.querySelectorAll('input[name="' + all.getAttribute('data-check-all') + '"]')
      .forEach(function (c) { c.checked = all.checked; });
  });
  /* Pages send no Referer (links carry secrets), so every form says which page it was on:
     a refused form goes back there (app/errors.py). */
  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('form[method=post]').forEach(function (f) {
      if (f.querySelector('input[name=next]')) return;
      var i = document.createElement('input');
      i.type = 'hidden'; i.name = 'next'; i.value = location.pathname + location.search;
      f.appendChild(i);
    });
  });
  document.addEventListener('change', function (ev) {
    var el = ev.target.closest('[data-autosubmit]');
    if (el && el.form) el.form.submit();
  });
})();
