// The layout's script (toasts, pollers, the account menu). Loaded from a static file: the CSP allows
// no inline script.
(function () {
  "use strict";

  // Toasts: dismiss on click, fade out by themselves after a while.
  function arm(toast) {
    if (toast.dataset.armed) return;
    toast.dataset.armed = "1";
    var close = function () {
      toast.classList.add("is-leaving");
      setTimeout(function () { toast.remove(); }, 300);
    };
    var button = toast.querySelector("[data-dismiss]");
    if (button) button.addEventListener("click", close);
    setTimeout(close, 6000);
  }
  function armAll(root) {
    (root || document).querySelectorAll("[data-toast]").forEach(arm);
  }
  document.addEventListener("DOMContentLoaded", function () { armAll(document); });
  document.addEventListener("htmx:load", function (event) { armAll(document); });

  // Pollers (elements marked data-poll) pause while the tab is hidden: their
  // requests are dropped, and one "shop:visible" event on the document lets them
  // catch up at once when the shopper comes back (hx-trigger="..., shop:visible from:document").
  // Trigger filters ("every 2s [cond]") would need eval, which the CSP forbids.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (document.hidden && event.detail.elt.closest("[data-poll]")) event.preventDefault();
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) document.dispatchEvent(new CustomEvent("shop:visible"));
  });

  // Close the account menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
