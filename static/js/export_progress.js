// Follows a prepared change-log export: asks for its status every two seconds,
// moves the progress bar, and reloads the page once the file is ready or failed.
(function () {
  "use strict";
  var box = document.querySelector("[data-export-status-url]");
  if (!box) return;
  var url = box.getAttribute("data-export-status-url");
  var bar = document.getElementById("export-progress");
  var count = document.getElementById("export-count");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (job) {
        if (job.finished) { window.location.reload(); return; }
        if (bar) { bar.value = job.percent; bar.textContent = job.percent + "%"; }
        if (count) { count.textContent = job.rows_done + " of " + (job.rows_total || "?") + " entries"; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
