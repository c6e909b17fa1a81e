// Every page: the phone header's menu button. Without this script the menu
// is simply shown (the button stays hidden), so nothing depends on it.
(function () {
  "use strict";
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("site-menu");
  if (!toggle || !menu) return;
  document.documentElement.classList.add("menu-ready");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && menu.classList.contains("open")) {
      toggle.setAttribute("aria-expanded", "false");
      menu.classList.remove("open");
      toggle.focus();
    }
  });
})();

// A table or code block that scrolls sideways inside its box (phones) must
// be reachable with the keyboard to be scrolled.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll("main *").forEach(function (el) {
      var overflow = window.getComputedStyle(el).overflowX;
      if (overflow !== "auto" && overflow !== "scroll") return;
      // Tables made to scroll on phones, and scroll boxes, are always reachable:
      // whether they overflow can change after this runs (fonts, images).
      var box = el.tagName === "TABLE" || el.classList.contains("table-wrap");
      if (box || el.scrollWidth > el.clientWidth + 1) {
        if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
      } else if (el.getAttribute("tabindex") === "0" && el.dataset.keepTab === undefined) {
        el.removeAttribute("tabindex");
      }
    });
  }
  mark();
  window.addEventListener("load", mark);
  window.addEventListener("resize", mark);
})();
