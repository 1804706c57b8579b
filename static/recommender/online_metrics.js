// Staff dashboard: charts of the lists' online figures over time (templates/recommender/
// _online_metrics.html). A static file because the Content-Security-Policy forbids inline
// scripts; Chart.js comes from the dashboard's vendored copy.
(function () {
  "use strict";

  var dataTag = document.getElementById("online-metrics-data");
  if (!dataTag || typeof window.Chart === "undefined") {
    return;
  }
  var series = JSON.parse(dataTag.textContent);
  var palette = ["#3b2f8f", "#15803d", "#b45309", "#b91c1c", "#0e7490", "#6b21a8"];
  var names = Object.keys(series).sort();
  var days = {};
  names.forEach(function (name) {
    series[name].forEach(function (point) {
      days[point.day] = true;
    });
  });
  var labels = Object.keys(days).sort();

  function values(name, metric) {
    var byDay = {};
    series[name].forEach(function (point) {
      byDay[point.day] = point[metric];
    });
    return labels.map(function (day) {
      return day in byDay ? byDay[day] : null;
    });
  }

  var canvases = document.querySelectorAll("#online-metrics canvas[data-online-metric]");
  Array.prototype.forEach.call(canvases, function (canvas) {
    var metric = canvas.getAttribute("data-online-metric");
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: labels,
        datasets: names.map(function (name, i) {
          var colour = palette[i % palette.length];
          return {
            label: name,
            data: values(name, metric),
            borderColor: colour,
            backgroundColor: colour,
            pointRadius: 3,
            spanGaps: true,
            tension: 0,
          };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: true, position: "bottom" } },
        scales: { y: { beginAtZero: true, suggestedMax: 1 } },
      },
    });
  });
})();
