// Live stock badges: the page's one poller gets the badges and buttons of every
// product on the page, out of band, whenever any of them changed. Skip those whose
// state is the same as before, so that screen readers announce only real changes
// and a button is not replaced under the shopper's finger.
(function () {
  "use strict";

  function stockKey(node) {
    if (!node) return null;
    if (node.nodeType === 1 && node.hasAttribute("data-stock-key")) {
      return node.getAttribute("data-stock-key");
    }
    var inner = node.querySelector ? node.querySelector("[data-stock-key]") : null;
    return inner ? inner.getAttribute("data-stock-key") : null;
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var current = stockKey(event.detail.target);
    if (current !== null && current === stockKey(event.detail.fragment)) {
      event.detail.shouldSwap = false;
    }
  });
})();
