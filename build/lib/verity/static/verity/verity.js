/* Small behaviours for Verity pages. Everything works without it; this only adds comfort. */
(function () {
  "use strict";

  // "/" focuses the global search unless the user is typing somewhere already.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    // The search page's own box (the last one) wins over the one in the top bar.
    var boxes = document.querySelectorAll("[data-search-shortcut]");
    var box = boxes[boxes.length - 1];
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Menus made of <details> close when the user clicks elsewhere or presses Escape.
  function closeMenus(except) {
    document.querySelectorAll("details.user-menu[open], details.inline-details[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeMenus(null);
  });

  // Phone width: the navigation folds into a menu button.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    if (nav) nav.classList.toggle("is-open", !open);
  });

  // Warn before leaving a form with unsaved changes (the card editor).
  var dirty = false;
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("form[data-warn-unsaved]")) dirty = true;
  });
  document.addEventListener("submit", function (event) {
    if (event.target.matches && event.target.matches("form[data-warn-unsaved]")) dirty = false;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });
  // A form that starts dirty (e.g. re-shown after a conflict) keeps the warning armed.
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("form[data-warn-unsaved][data-dirty]")) dirty = true;
  });

  // <dialog> openers and closers: buttons with data-open-dialog="id" / data-close-dialog.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && dialog.showModal) {
        event.preventDefault();
        dialog.showModal();
        var first = dialog.querySelector("textarea, input, select");
        if (first) first.focus();
      }
      return;
    }
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) d.close();
    }
  });

  // Forms that destroy or replace something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Bulk actions: show the verifier / interval choice only for the action that needs it.
  function syncBulk(select) {
    var bar = select.closest(".bulk-bar");
    if (!bar) return;
    bar.querySelectorAll("[data-bulk-for]").forEach(function (part) {
      part.hidden = part.getAttribute("data-bulk-for") !== select.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches(".bulk-bar select[name=action]")) syncBulk(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".bulk-bar select[name=action]").forEach(syncBulk);
  });

  // Select-all checkbox for bulk actions.
  document.addEventListener("change", function (event) {
    var all = event.target.closest && event.target.closest("[data-select-all]");
    if (!all) return;
    var scope = document.querySelectorAll('input[type=checkbox][name="' + all.getAttribute("data-select-all") + '"]');
    scope.forEach(function (box) { box.checked = all.checked; });
  });
})();
