/* Assessment charts (dashboard and printable reports), drawn with the vendored Chart.js.
 *
 * The data comes from <script type="application/json" id="assessment-chart-data"> written by the
 * server; each chart is drawn only when its canvas is on the page. No animation, so a report is
 * complete the moment it loads and prints as shown; before printing every chart is resized to
 * the paper width. window.assessmentChartsReady tells tests (and the print button) it is done.
 */
(function () {
  "use strict";

  var palette = ["#0d6efd", "#adb5bd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#d63384"];

  function dataset(label, values, color) {
    return { label: label, data: values, backgroundColor: color, borderColor: color, borderWidth: 1 };
  }

  function bar(id, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    return new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign(
        {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
          scales: { y: { beginAtZero: true } }
        },
        options || {}
      )
    });
  }

  function draw() {
    var source = document.getElementById("assessment-chart-data");
    if (!source || typeof Chart === "undefined") return;
    var d = JSON.parse(source.textContent);
    var charts = [];

    charts.push(
      bar(
        "deals-chart",
        d.labels,
        [
          dataset(d.deals.names[0], d.deals.confirmed, palette[0]),
          dataset(d.deals.names[1], d.deals.unconfirmed, palette[1]),
          dataset(d.deals.names[2], d.deals.disputed, palette[2])
        ],
        { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
      )
    );
    charts.push(bar("response-chart", d.labels, [dataset(d.response_rate.name, d.response_rate.values, palette[3])], { scales: { y: { beginAtZero: true, max: 100 } } }));
    charts.push(bar("composite-chart", d.labels, [dataset(d.composite.name, d.composite.values, palette[0])], { scales: { y: { beginAtZero: true, max: 100 } } }));
    if (d.satisfaction) {
      charts.push(
        bar(
          "satisfaction-chart",
          d.satisfaction.labels,
          d.satisfaction.series.map(function (s, i) { return dataset(s.label, s.data, palette[i % palette.length]); }),
          { plugins: { legend: { display: true, position: "bottom" } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
        )
      );
    }
    charts = charts.filter(Boolean);

    window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });
    window.addEventListener("afterprint", function () { charts.forEach(function (c) { c.resize(); }); });
    var printButton = document.getElementById("print-report");
    if (printButton) printButton.addEventListener("click", function () { window.print(); });
    window.assessmentChartsReady = true;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
