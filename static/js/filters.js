// Search and category filters: a ticked box, a rating or a sort applies at once, so the Apply and Sort
// buttons hide (Apply comes back while a price is being typed, as prices apply with Enter or the button).
// Empty boxes stay out of the address. Without JavaScript the forms work the same with their buttons.
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 721px)");

  function submit(form) {
    if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  document.querySelectorAll("[data-filter-form]").forEach(function (form) {
    var apply = form.querySelector("[data-apply]");
    if (apply) {
      apply.hidden = true;
    }
    form.addEventListener("change", function (event) {
      var type = event.target.type;
      if (type === "checkbox" || type === "radio") {
        submit(form);
      }
    });
    form.addEventListener("input", function (event) {
      if (apply && event.target.type === "text") {
        apply.hidden = false;
      }
    });
    form.addEventListener("submit", function () {
      form.querySelectorAll("input[name]").forEach(function (input) {
        if (input.value === "") {
          input.disabled = true;
        }
      });
    });
  });

  // Coming back with the browser's Back button shows the page as it was left: boxes usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-filter-form] input:disabled").forEach(function (input) {
      input.disabled = false;
    });
  });

  document.querySelectorAll("form[data-submit-on-change]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.hidden = true;
    }
    form.addEventListener("change", function () {
      submit(form);
    });
  });

  // Browsers that cannot open a <details> from CSS get the panel opened here on wide screens.
  document.querySelectorAll("details[data-filters]").forEach(function (details) {
    if (wide.matches) {
      details.open = true;
    }
  });
})();
