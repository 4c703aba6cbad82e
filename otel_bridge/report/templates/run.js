(function () {
  "use strict";
  // Everything shown here comes from the JSON element and goes in through textContent only.
  var source = document.getElementById("report-data");
  var details = source ? JSON.parse(source.textContent).details : [];
  var scroller = document.getElementById("tl-scroll");
  var canvas = document.getElementById("tl-canvas");
  var level = document.getElementById("zoom-level");
  var list = document.getElementById("details-list");
  var hint = document.getElementById("details-hint");
  var zoom = 1;
  var selected = null;

  function setZoom(next) {
    next = Math.max(1, Math.min(next, 1024));
    // Keep the time at the middle of the view in the middle while zooming.
    var middle = (scroller.scrollLeft + scroller.clientWidth / 2) / canvas.offsetWidth;
    zoom = next;
    canvas.style.width = "calc(" + zoom * 100 + "% - 8px)";
    scroller.scrollLeft = middle * canvas.offsetWidth - scroller.clientWidth / 2;
    level.textContent = zoom + "\u00d7";
  }

  document.querySelectorAll("[data-zoom]").forEach(function (button) {
    button.addEventListener("click", function () {
      var how = button.getAttribute("data-zoom");
      setZoom(how === "in" ? zoom * 2 : how === "out" ? zoom / 2 : 1);
    });
  });

  function add(term, value, block) {
    if (value === null || value === undefined || value === "") return;
    var dt = document.createElement("dt");
    dt.textContent = term;
    var dd = document.createElement("dd");
    if (block) {
      var pre = document.createElement("pre");
      pre.textContent = String(value);
      dd.appendChild(pre);
    } else {
      dd.textContent = String(value);
    }
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function show(bar) {
    var entry = details[Number(bar.getAttribute("data-i"))];
    if (!entry) return;
    if (selected) selected.classList.remove("selected");
    selected = bar;
    bar.classList.add("selected");
    list.textContent = "";
    hint.hidden = true;
    Object.keys(entry).forEach(function (key) {
      if (key === "message") return;
      add(key, entry[key], key === "arguments" || key === "output" || key === "error");
    });
    if (entry.message) {
      var dt = document.createElement("dt");
      dt.textContent = "result";
      var dd = document.createElement("dd");
      var link = document.createElement("a");
      link.href = "#" + entry.message;
      link.textContent = "in the conversation";
      link.addEventListener("click", function () {
        var target = document.getElementById(entry.message);
        var folded = target && target.querySelector("details");
        if (folded) folded.open = true;
      });
      dd.appendChild(link);
      list.appendChild(dt);
      list.appendChild(dd);
    }
  }

  canvas.addEventListener("click", function (event) {
    var bar = event.target.closest(".bar");
    if (bar) show(bar);
  });

  // A legend item shows where its kind is on the timeline (the others fade) until clicked again.
  var FIND = {
    llm: ".bar.llm", tool: ".bar.tool", handoff: ".bar.handoff", error: ".bar.error",
    ttft: ".ttft", arrow: ".arrow:not(.delegation)", delegation: ".arrow.delegation",
    lead: ".lead",
  };
  var finding = null;
  var keys = document.querySelectorAll(".legend > [data-find]");
  keys.forEach(function (key) {
    key.addEventListener("click", function () {
      var what = key.getAttribute("data-find");
      finding = finding === what ? null : what;
      if (finding) canvas.setAttribute("data-finding", finding);
      else canvas.removeAttribute("data-finding");
      keys.forEach(function (k) {
        k.setAttribute("aria-pressed", String(k.getAttribute("data-find") === finding));
      });
      var first = finding && canvas.querySelector(FIND[finding]);
      if (first) first.scrollIntoView({ block: "nearest", inline: "center" });
    });
  });

  // Printing shows every folded tool call and result.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
})();
