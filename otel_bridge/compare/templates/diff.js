(function () {
  "use strict";
  // "only the steps that differ" hides the equal rows of the step table; a long diff opens
  // with it on (without JavaScript every row shows).
  var box = document.getElementById("only-diff");
  var shown = document.getElementById("steps-shown");
  if (!box) return;
  var rows = Array.prototype.slice.call(document.querySelectorAll("#step-table tbody tr"));
  var differing = rows.filter(function (row) { return row.getAttribute("data-status") !== "equal"; });

  function apply() {
    var count = 0;
    rows.forEach(function (row) {
      var hide = box.checked && row.getAttribute("data-status") === "equal";
      row.hidden = hide;
      if (!hide) count += 1;
    });
    shown.textContent = box.checked ? count + " of " + rows.length + " steps" : "";
  }

  box.addEventListener("change", apply);
  if (rows.length > 100 && differing.length) {
    box.checked = true;
    apply();
  }
})();
