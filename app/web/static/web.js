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

  // The member card: a fresh card token before the one on screen expires.
  var card = document.querySelector("[data-refresh]");
  if (card) {
    var seconds = parseInt(card.getAttribute("data-refresh"), 10) || 240;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }

  // A form sent once: a second tap while the page loads does not send it again.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  });

  // Inline checks once a field holds a whole value (checked while typing, never on blur, so the
  // page does not move under a finger on its way to the next control); the server's word counts.
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECKS = {
    phone: [11, function (v) {
      var digits = v.replace(/[\s-]/g, "").replace(/^(\+?86)/, "");
      return /^1[3-9]\d{9}$/.test(digits) ? "" : "请输入正确的中国大陆手机号";
    }],
    code: [6, function (v) { return /^\d{6}$/.test(v.trim()) ? "" : "验证码是 6 位数字"; }],
    id_number: [18, function (v) {
      var n = v.trim().toUpperCase();
      if (!/^\d{17}[\dX]$/.test(n)) { return "身份证号码应为 18 位"; }
      var sum = 0;
      for (var i = 0; i < 17; i++) { sum += parseInt(n.charAt(i), 10) * WEIGHTS[i]; }
      return "10X98765432".charAt(sum % 11) === n.charAt(17) ? "" : "身份证号码校验位不正确，请核对";
    }]
  };
  document.querySelectorAll("[data-check]").forEach(function (input) {
    var check = CHECKS[input.getAttribute("data-check")];
    if (!check) { return; }
    input.addEventListener("input", function () {
      var note = document.getElementById(input.id + "-live");
      var message = input.value.trim().length >= check[0] ? check[1](input.value) : "";
      if (!note && !message) { return; }
      if (!note) {
        note = document.createElement("p");
        note.id = input.id + "-live";
        note.className = "error";
        note.setAttribute("aria-live", "polite");
        input.parentNode.insertBefore(note, input);
      }
      note.textContent = message;
    });
  });
})();
