/* Ruhui worker pages: small improvements only. Every page works without this file. */
(function () {
  "use strict";

  // The resend countdown on the code page: the server enforces the wait either way.
  var countdown = document.querySelector("[data-countdown]");
  if (countdown) {
    var left = parseInt(countdown.getAttribute("data-countdown"), 10) || 0;
    var tick = function () {
      countdown.textContent = left > 0 ? left + " 秒后可重新发送。" : "现在可以重新发送。";
      if (left-- > 0) { window.setTimeout(tick, 1000); }
    };
    tick();
  }

  // A form sent once: a second tap while the page loads does not send it again.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  });

  // Inline checks as the worker leaves a field; the server's message is the one that counts.
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECKS = {
    phone: function (v) {
      var digits = v.replace(/[\s-]/g, "").replace(/^(\+?86)/, "");
      return /^1[3-9]\d{9}$/.test(digits) ? "" : "请输入正确的中国大陆手机号";
    },
    code: function (v) { return /^\d{6}$/.test(v.trim()) ? "" : "验证码是 6 位数字"; },
    id_number: function (v) {
      var n = v.trim().toUpperCase();
      if (!/^\d{17}[\dX]$/.test(n)) { return "身份证号码应为 18 位"; }
      var sum = 0;
      for (var i = 0; i < 17; i++) { sum += parseInt(n.charAt(i), 10) * WEIGHTS[i]; }
      return "10X98765432".charAt(sum % 11) === n.charAt(17) ? "" : "身份证号码校验位不正确，请核对";
    }
  };
  document.querySelectorAll("[data-check]").forEach(function (input) {
    var check = CHECKS[input.getAttribute("data-check")];
    if (!check) { return; }
    input.addEventListener("blur", function () {
      if (!input.value) { return; }
      var id = input.id + "-live";
      var note = document.getElementById(id);
      var message = check(input.value);
      if (!note) {
        note = document.createElement("p");
        note.id = id;
        note.className = "error";
        note.setAttribute("aria-live", "polite");
        input.parentNode.insertBefore(note, input);
      }
      note.textContent = message;
    });
  });
})();
