// The console works without this file; it only adds a "tick every row" shortcut to tables.
// ES2019 at most (Chromium 90 and Firefox ESR): no optional chaining needed, no newer syntax.
(function () {
  "use strict";
  var toggles = document.querySelectorAll("input[data-tick-all]");
  Array.prototype.forEach.call(toggles, function (toggle) {
    toggle.hidden = false;
    var label = document.querySelector('label[for="' + toggle.id + '"]');
    if (label) { label.hidden = false; }
    toggle.addEventListener("change", function () {
      var boxes = document.querySelectorAll('input[name="' + toggle.getAttribute("data-tick-all") + '"]');
      Array.prototype.forEach.call(boxes, function (box) {
        if (!box.disabled) { box.checked = toggle.checked; }
      });
    });
  });
  var prints = document.querySelectorAll("button[data-print]");
  Array.prototype.forEach.call(prints, function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
}());
