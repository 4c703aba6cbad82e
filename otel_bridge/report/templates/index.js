(function () {
  "use strict";
  var table = document.getElementById("runs");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var filter = document.getElementById("filter");
  var status = document.getElementById("status");
  var shown = document.getElementById("shown");
  var labels = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  // Lower-cased row text, computed once: filtering 1,000 runs stays instant.
  var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function apply() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var wanted = status.value;
    var count = 0;
    rows.forEach(function (row, i) {
      var visible = (!wanted || row.getAttribute("data-status") === wanted) &&
        labels.every(function (select) {
          return !select.value || row.getAttribute("data-" + select.getAttribute("data-filter")) === select.value;
        }) &&
        words.every(function (word) { return texts[i].indexOf(word) !== -1; });
      row.hidden = !visible;
      if (visible) count += 1;
    });
    shown.textContent = count === rows.length ? "" : count + " of " + rows.length + " shown";
  }

  function sortBy(header) {
    var key = header.cellIndex;  // data-key names the column; its place may vary
    var numeric = header.hasAttribute("data-num");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var order = rows.map(function (row, i) {
      var value = row.cells[key].getAttribute("data-v") || "";
      return { row: row, text: texts[i], value: numeric ? Number(value) : value };
    });
    order.sort(function (a, b) {
      var c = a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
      return ascending ? c : -c;
    });
    rows = order.map(function (o) { return o.row; });
    texts = order.map(function (o) { return o.text; });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }

  table.querySelectorAll("th[data-key] button").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button.parentNode); });
  });
  filter.addEventListener("input", apply);
  status.addEventListener("change", apply);
  labels.forEach(function (select) { select.addEventListener("change", apply); });
})();
