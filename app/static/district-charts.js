/* The sub-district page's two charts, drawn with the vendored Chart.js (/static/vendor/chart.umd.js).
   Data comes from <script type="application/json" id="district-data">, so no inline script is needed.
   Horizontal bars: community names are long and there may be 15 of them. */
(function () {
  if (typeof Chart === 'undefined') { return; }
  var el = document.getElementById('district-data');
  if (!el) { return; }
  var d = JSON.parse(el.textContent);
  var font = { size: 15 };
  Chart.defaults.font.size = 15;
  Chart.defaults.color = '#1c2430';

  function height(canvas, n) { canvas.parentNode.style.height = Math.max(120, 34 * n + 60) + 'px'; }

  var t = d.traffic, tc = document.getElementById('traffic-chart');
  if (t && tc && t.labels.length) {
    height(tc, t.labels.length);
    new Chart(tc, {
      type: 'bar',
      data: { labels: t.labels, datasets: [
        { label: t.allowed_label, data: t.allowed, backgroundColor: '#1f7a3a' },
        { label: t.denied_label, data: t.denied, backgroundColor: '#c0392b' } ] },
      options: { indexAxis: 'y', animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { position: 'top', labels: { font: font } } },
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } }
    });
  }

  var a = d.alerts, ac = document.getElementById('alerts-chart');
  if (a && ac && a.labels.length) {
    height(ac, a.labels.length);
    new Chart(ac, {
      type: 'bar',
      data: { labels: a.labels, datasets: [{ label: a.label, data: a.values, backgroundColor: '#d9731f' }] },
      options: { indexAxis: 'y', animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
})();
