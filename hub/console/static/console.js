// Live parts of the console, no library: an element with data-poll="url" fetches that JSON
// every data-every seconds and writes each value into its [data-live="dotted.key"] children.
// data-until="settled" stops a replay's progress once it is finished and nothing is in flight.
"use strict";
(function () {
  function pick(data, path) {
    return path.split(".").reduce(function (value, key) {
      return value == null ? undefined : value[key];
    }, data);
  }
  function settled(data) {
    if (!data.finished) return false;
    var statuses = data.statuses || {};
    return Object.keys(statuses).every(function (id) {
      return statuses[id] !== "pending" && statuses[id] !== "retrying";
    });
  }
  function poll(box) {
    var url = box.getAttribute("data-poll");
    var every = Math.max(1, Number(box.getAttribute("data-every") || 5)) * 1000;
    var rounds = 0;
    function tick() {
      rounds += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          box.querySelectorAll("[data-live]").forEach(function (el) {
            var value = pick(data, el.getAttribute("data-live"));
            if (value !== undefined && value !== null) el.textContent = String(value);
          });
          box.querySelectorAll("[data-live-progress]").forEach(function (el) {
            el.value = Number(pick(data, el.getAttribute("data-live-progress")) || 0);
          });
          box.querySelectorAll("[data-live-flag]").forEach(function (el) {
            var on = pick(data, el.getAttribute("data-live-flag"));
            el.textContent = el.getAttribute(on ? "data-yes" : "data-no");
          });
          var done = box.getAttribute("data-until") === "settled" && settled(data);
          if (!done && rounds < 3600) window.setTimeout(tick, every);
          else box.setAttribute("data-settled", "true");
        })
        .catch(function () { if (rounds < 3600) window.setTimeout(tick, every * 2); });
    }
    window.setTimeout(tick, 1000);  // the first look soon after the page, then every N s
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();
