/* Charts of the health pages, drawn with Chart.js (vendored: /static/vendor/chart.umd.js).
   Data comes from <script type="application/json"> blocks, so no inline script is needed. */
(function () {
  if (typeof Chart === 'undefined') { return; }
  function data(id) { var el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  var t = data('temperature-data'), canvas = document.getElementById('temperature-chart');
  if (t && canvas) {
    new Chart(canvas, {
      type: 'line',
      data: { labels: t.labels, datasets: [
        { label: '℃', data: t.values, borderColor: '#1f5fa8', tension: 0.2, pointRadius: 4,
          pointBackgroundColor: t.values.map(function (v) { return v >= t.threshold ? '#c0392b' : '#1f5fa8'; }) },
        { label: String(t.threshold), data: t.values.map(function () { return t.threshold; }),
          borderColor: '#c0392b', borderDash: [6, 4], pointRadius: 0, borderWidth: 1 } ] },
      options: { animation: false, responsive: true, plugins: { legend: { display: false } },
        scales: { y: { suggestedMin: 35.5, suggestedMax: 38.5, title: { display: true, text: '℃' } } } }
    });
  }

  var q = data('quarantine-data'), qc = document.getElementById('quarantine-chart');
  if (q && qc) {
    new Chart(qc, {
      type: 'bar',
      data: { labels: q.labels, datasets: [{ label: q.label, data: q.values, backgroundColor: '#d9731f' }] },
      options: { animation: false, responsive: true, plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
})();
