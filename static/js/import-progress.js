// The import job page's progress bar: asks the job's status view every second and moves the
// bar; reloads the page when the job ends, so that its result is shown as the server writes it.
// The page says everything without this script (reload it to see the progress).
(function () {
  "use strict";
  var bar = document.getElementById("import-job-progress");
  if (!bar) {
    return;
  }
  var count = document.getElementById("import-job-count");
  var phase = document.getElementById("import-job-phase");
  var url = bar.getAttribute("data-status-url");

  function show(state) {
    if (state.finished || state.stalled) {
      window.location.reload();
      return false;
    }
    if (state.writes_total) {
      bar.max = state.writes_total;
      bar.value = state.writes_done;
      bar.textContent = state.writes_done + " / " + state.writes_total;
      if (count) {
        count.textContent = state.writes_done + " / " + state.writes_total;
      }
    }
    if (phase) {
      phase.textContent = state.phase_label;
    }
    return true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (state) {
        if (show(state)) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        // A passing network or server error: try again a little later.
        window.setTimeout(poll, 5000);
      });
  }

  window.setTimeout(poll, 1000);
})();
