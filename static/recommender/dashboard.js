// Staff dashboard: live training progress (polled every 2 s) and the metric chart.
// A static file because the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var root = document.getElementById("dashboard");
  if (!root) {
    return;
  }

  // --- Training runs --------------------------------------------------------------------

  var rows = document.getElementById("run-rows");
  var statusLine = document.getElementById("runs-status");
  var liveBefore = {};
  Array.prototype.forEach.call(rows.querySelectorAll("tr[data-run-id]"), function (tr) {
    liveBefore[tr.getAttribute("data-run-id")] = tr.getAttribute("data-live") === "true";
  });

  function cell(text, className, tdClass) {
    var td = document.createElement("td");
    if (tdClass) {
      td.className = tdClass;
    }
    if (className) {
      var span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    return td;
  }

  function progressCell(run) {
    var td = document.createElement("td");
    td.className = "progress-cell";
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = run.progress;
    bar.textContent = run.progress + "%";
    bar.setAttribute("aria-label", "Run " + run.id + " progress");
    var pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = run.progress + "%";
    td.appendChild(bar);
    td.appendChild(pct);
    return td;
  }

  function runRow(run) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-run-id", String(run.id));
    tr.setAttribute("data-live", run.live ? "true" : "false");
    tr.appendChild(cell(String(run.id)));
    tr.appendChild(cell(run.kind_label));
    tr.appendChild(cell(run.status_label, "status status-" + run.status));
    tr.appendChild(progressCell(run));
    tr.appendChild(cell(run.stage));
    tr.appendChild(cell(run.trigger + (run.requested_by ? " (" + run.requested_by + ")" : "")));
    tr.appendChild(cell(run.created, "", "nowrap"));
    tr.appendChild(cell(run.duration, "", "nowrap"));
    tr.appendChild(run.error ? cell(run.error, "error-text") : cell(run.model_version));
    return tr;
  }

  function emptyRow() {
    var tr = document.createElement("tr");
    tr.className = "empty-row";
    var td = cell("No training runs yet. Use \u201cTrain now\u201d above.");
    td.colSpan = 9;
    tr.appendChild(td);
    return tr;
  }

  function showFinished(runs) {
    var finished = runs.filter(function (run) {
      return liveBefore[String(run.id)] === true && !run.live;
    });
    if (finished.length === 0) {
      return;
    }
    statusLine.textContent = "";
    statusLine.appendChild(
      document.createTextNode(
        finished
          .map(function (run) {
            return run.kind_label + " run " + run.id + " " + run.status_label.toLowerCase();
          })
          .join("; ") + ". "
      )
    );
    var reload = document.createElement("a");
    reload.href = window.location.pathname;
    reload.textContent = "Reload to see new versions";
    statusLine.appendChild(reload);
  }

  var lastBody = null;

  function render(data) {
    var body = JSON.stringify(data.runs);
    if (body === lastBody) {
      return; // unchanged: leave the rows alone, so a text selection survives the poll
    }
    lastBody = body;
    var fresh = document.createDocumentFragment();
    data.runs.forEach(function (run) {
      fresh.appendChild(runRow(run));
    });
    if (data.runs.length === 0) {
      fresh.appendChild(emptyRow());
    }
    rows.replaceChildren(fresh);
    showFinished(data.runs);
    data.runs.forEach(function (run) {
      liveBefore[String(run.id)] = run.live;
    });
  }

  var progressUrl = root.getAttribute("data-progress-url");
  var timer = null;
  var failing = false;

  function poll() {
    timer = null;
    fetch(progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        if (failing) {
          failing = false;
          statusLine.textContent = "Live progress resumed.";
        }
        render(data);
      })
      .catch(function () {
        failing = true;
        statusLine.textContent = "Live progress is unavailable; retrying.";
      })
      .then(schedule);
  }

  function schedule() {
    if (timer === null && document.visibilityState === "visible") {
      timer = window.setTimeout(poll, POLL_MS);
    }
  }

  document.addEventListener("visibilitychange", schedule);
  schedule();

  // --- Metric chart ---------------------------------------------------------------------

  var dataTag = document.getElementById("chart-data");
  if (!dataTag || typeof window.Chart === "undefined") {
    return;
  }
  var series = JSON.parse(dataTag.textContent);
  var css = window.getComputedStyle(document.documentElement);
  var textColour = css.getPropertyValue("--muted").trim() || "#4f5666";
  var gridColour = css.getPropertyValue("--border").trim() || "#d5d8e0";
  var lineColour = css.getPropertyValue("--accent").trim() || "#3b2f8f";
  var statusColour = {
    active: "#15803d",
    rejected: "#b91c1c",
    retired: textColour,
    candidate: "#b45309",
  };
  window.Chart.defaults.color = textColour;
  window.Chart.defaults.borderColor = gridColour;

  Array.prototype.forEach.call(root.querySelectorAll("canvas[data-kind]"), function (canvas) {
    var entry = series[canvas.getAttribute("data-kind")];
    var points = entry.points;
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) {
          return p.version;
        }),
        datasets: [
          {
            label: entry.metric,
            data: points.map(function (p) {
              return p.value;
            }),
            borderColor: lineColour,
            backgroundColor: lineColour,
            pointBackgroundColor: points.map(function (p) {
              return statusColour[p.status] || lineColour;
            }),
            pointRadius: 5,
            pointHoverRadius: 7,
            spanGaps: true,
            tension: 0,
          },
        ],
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (context) {
                var point = points[context.dataIndex];
                var value = point.value === null ? "no value" : point.value.toFixed(4);
                return entry.metric + " " + value + " (" + point.status + ")";
              },
            },
          },
        },
        scales: {
          y: { title: { display: true, text: entry.metric } },
        },
      },
    });
  });
})();
